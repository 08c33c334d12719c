"""Interleaved trials: team-draft lists, credited clicks, the sign test, /admin/trial.json and
the admin's buttons, on the app with a candidate at ``TRIAL_MODEL_PATH``."""

import itertools
import math
import os
import random
import re

import pytest
from werkzeug.security import generate_password_hash

from training.core.likes import file_sha256
from webapp.events import tickets
from webapp.trial.interleave import seeded_rng, team_draft
from webapp.trial.sign_test import sign_test

from tests.event_helpers import random_candidate, stored

PASSWORD = "s3cret"
ADMIN = ("admin", PASSWORD)
VISITORS = [f"visitor-number-{i:02d}" for i in range(3)]


@pytest.mark.parametrize("seed", range(40))
def test_team_draft_keeps_each_teams_order_and_takes_turns(seed):
    rng = random.Random(seed)
    pool = list(range(30))
    first, second = rng.sample(pool, rng.randint(0, 12)), rng.sample(pool, rng.randint(0, 12))
    k = rng.randint(1, 15)
    items, teams = team_draft(first, second, k, rng)
    assert len(items) == len(set(items)) == min(k, len(set(first) | set(second)))
    for team, ranked in (("a", first), ("c", second)):
        picked = [item for item, t in zip(items, teams, strict=True) if t == team]
        # A team's picks are its best items not placed before them, in its own order.
        for at, item in enumerate(items):
            if teams[at] == team:
                assert item == next(i for i in ranked if i not in items[:at])
        assert picked == sorted(picked, key=ranked.index)
    # Turns: while both teams have items left, neither gets two picks ahead.
    for at in range(len(items)):
        left = [[i for i in r if i not in items[:at]] for r in (first, second)]
        if all(left):
            assert abs(teams[:at].count("a") - teams[:at].count("c")) <= 1


def test_team_draft_of_one_list_is_a_fair_coin_per_round():
    ranked = list("abcdefghij")
    firsts = [
        team_draft(ranked, ranked, 10, seeded_rng(f"v{i:015d}", "q"))[1][0] for i in range(2000)
    ]
    assert abs(firsts.count("a") / 2000 - 0.5) < 0.05
    one = team_draft(ranked, ranked, 10, seeded_rng("v" * 16, "q"))
    assert one == team_draft(ranked, ranked, 10, seeded_rng("v" * 16, "q"))
    assert one[0] == ranked  # the same list either way; only the credit differs


@pytest.mark.parametrize("wins, losses", [(0, 0), (9, 1), (1, 9), (5, 5), (30, 14), (0, 7)])
def test_the_sign_test_is_the_exact_two_sided_binomial(wins, losses):
    n = wins + losses
    tail = sum(math.comb(n, i) for i in range(min(wins, losses) + 1)) / 2**n if n else 0.5
    assert sign_test(wins, losses) == pytest.approx(min(1.0, 2 * tail))


@pytest.fixture
def candidate_path(demo_model, tmp_path):
    return random_candidate(demo_model.path, str(tmp_path / "models" / "trial.npz"))


@pytest.fixture
def trial_app(make_app, demo_model, candidate_path, tmp_path):
    """The app with an admin, the demo model active and ``candidate_path`` on trial."""
    active = tmp_path / "models" / "active.npz"
    active.write_bytes(open(demo_model.path, "rb").read())
    return make_app(
        str(active),
        TRIAL_MODEL_PATH=candidate_path,
        ADMIN_PASSWORD_HASH=generate_password_hash(PASSWORD),
        JOBS_DIR=str(tmp_path / "jobs"),
    )


def similar_of(client, mid, visitor=None, k=10):
    query = {"k": k} | ({"visitor": visitor} if visitor else {})
    return client.get(f"/api/models/{mid}/similar", query_string=query).get_json()


def test_a_visitor_gets_the_same_interleaving_of_both_models(trial_app, demo_model):
    client = trial_app.test_client()
    mid = demo_model.mids[5]
    active = [c["mid"] for c in similar_of(client, mid)["similar"]]
    with trial_app.app_context():
        anonymous = tickets.read(similar_of(client, mid)["ticket"])
        candidate = (
            trial_app.extensions["sketchrec.trial"]
            .get()
            .similar(trial_app.extensions["sketchrec.trial"].get().row(mid), 10)
        )
        body = similar_of(client, mid, VISITORS[0])
        ticket = tickets.read(body["ticket"])
    assert anonymous.teams is None  # without a visitor id: the active model alone
    theirs = [c["mid"] for c in candidate]
    assert active != theirs
    assert ticket.models == (
        file_sha256(demo_model.path),
        file_sha256(trial_app.config["TRIAL_MODEL_PATH"]),
    )
    assert ticket.visitor == VISITORS[0] and len(ticket.teams) == 10
    listed = [c["mid"] for c in body["similar"]]
    assert (listed, ticket.teams) == team_draft(active, theirs, 10, seeded_rng(VISITORS[0], mid))
    assert similar_of(client, mid, VISITORS[0]) == body
    teams = {
        tickets.read(similar_of(client, mid, v)["ticket"], trial_app.config["SECRET_KEY"]).teams
        for v in VISITORS
    }
    assert len(teams) > 1  # another visitor, another draw


def post_click(client, body, position, visitor):
    event = {"visitor": visitor, "type": "click", "ticket": body["ticket"], "position": position}
    return client.post("/api/events", json=event | {"mid": body["similar"][position]["mid"]})


def test_clicks_are_credited_to_the_team_that_placed_the_card(trial_app, demo_model):
    client = trial_app.test_client()
    body = similar_of(client, demo_model.mids[3], VISITORS[0])
    with trial_app.app_context():
        teams = tickets.read(body["ticket"]).teams
    for position in range(10):
        assert post_click(client, body, position, VISITORS[0]).status_code == 204
    active, candidate = (
        file_sha256(demo_model.path),
        file_sha256(trial_app.config["TRIAL_MODEL_PATH"]),
    )
    for row, team in zip(stored(trial_app), teams, strict=True):
        expected = ("active", active) if team == "a" else ("candidate", candidate)
        assert (row["team"], row["model"]) == expected
        assert (row["active"], row["candidate"]) == (active, candidate)
    # Someone else's interleaved ticket cannot credit anything.
    refused = post_click(client, body, 0, VISITORS[1])
    assert refused.status_code == 400 and "another visitor" in refused.get_json()["error"]


def positions_of(ticket_text, app, team):
    with app.app_context():
        return [p for p, t in enumerate(tickets.read(ticket_text).teams) if t == team]


def test_trial_json_counts_wins_losses_and_ties_per_visitor_and_query(trial_app, demo_model):
    client = trial_app.test_client()
    assert client.get("/admin/trial.json").status_code == 401
    empty = client.get("/admin/trial.json", auth=ADMIN).get_json()
    assert empty["comparisons"] == 0 and empty["p_value"] == 1.0
    # visitor 0: two candidate cards and one active card clicked (one of them twice): a win;
    # visitor 1: one active card: a loss; visitor 2: one of each: a tie.
    plan = {VISITORS[0]: {"c": 2, "a": 1}, VISITORS[1]: {"a": 1}, VISITORS[2]: {"a": 1, "c": 1}}
    for visitor, clicks in plan.items():
        body = similar_of(client, demo_model.mids[8], visitor)
        for team, count in clicks.items():
            for position in positions_of(body["ticket"], trial_app, team)[:count]:
                assert post_click(client, body, position, visitor).status_code == 204
                assert post_click(client, body, position, visitor).status_code == 204
    # Another query of visitor 0, with no credited click (an impression only): no comparison.
    other = similar_of(client, demo_model.mids[9], VISITORS[0])
    impression = {
        "visitor": VISITORS[0],
        "type": "impression",
        "ticket": other["ticket"],
        "position": 0,
    }
    assert client.post("/api/events", json=impression).status_code == 204
    assert stored(trial_app)
    report = client.get("/admin/trial.json", auth=ADMIN).get_json()
    assert report == {
        "active": file_sha256(demo_model.path),
        "candidate": file_sha256(trial_app.config["TRIAL_MODEL_PATH"]),
        "comparisons": 3,
        "wins": {"candidate": 1, "active": 1, "tie": 1},
        "p_value": 1.0,
    }
    page = client.get("/admin", auth=ADMIN).get_data(as_text=True)
    assert 'id="trial-comparisons">3<' in page and "No difference yet" in page


def admin_post(client, path):
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/admin", auth=ADMIN).text)
    return client.post(path, data={"csrf_token": token.group(1)}, auth=ADMIN)


def test_ending_a_trial_keeps_the_candidate_file_and_the_active_model(trial_app, demo_model):
    client = trial_app.test_client()
    trial_path = trial_app.config["TRIAL_MODEL_PATH"]
    sha = file_sha256(trial_path)
    assert admin_post(client, "/admin/trial/end").status_code == 303
    assert not os.path.exists(trial_path)
    assert file_sha256(trial_path.replace(".npz", ".ended.npz")) == sha
    assert client.get("/admin/trial.json", auth=ADMIN).status_code == 404
    with trial_app.app_context():
        assert (
            tickets.read(similar_of(client, demo_model.mids[0], VISITORS[0])["ticket"]).teams
            is None
        )
    assert client.get("/healthz").get_json()["model"]["sha256"] == file_sha256(demo_model.path)
    assert (
        "Not ended: no trial is running"
        in client.get(admin_post(client, "/admin/trial/end").headers["Location"], auth=ADMIN).text
    )


def test_activating_the_candidate_is_one_button_and_ends_the_trial(trial_app):
    client = trial_app.test_client()
    active, trial_path = trial_app.config["MODEL_PATH"], trial_app.config["TRIAL_MODEL_PATH"]
    before, candidate = file_sha256(active), file_sha256(trial_path)
    assert admin_post(client, "/admin/trial/activate").status_code == 303
    assert file_sha256(active) == candidate
    assert file_sha256(active.replace(".npz", ".previous.npz")) == before
    assert not os.path.exists(trial_path)
    assert client.get("/admin/trial.json", auth=ADMIN).status_code == 404


def test_the_admin_page_shows_click_through_per_model_and_position(trial_app, demo_model):
    client = trial_app.test_client()
    visitors = (f"ctr-visitor-{i:06d}" for i in itertools.count())
    for clicked in ((0,), (0, 1), ()):
        body = similar_of(client, demo_model.mids[0])  # anonymous list: the active model's
        visitor = next(visitors)
        for position in range(4):
            event = {
                "visitor": visitor,
                "type": "impression",
                "ticket": body["ticket"],
                "position": position,
            }
            assert client.post("/api/events", json=event).status_code == 204
        for position in clicked:
            assert post_click(client, body, position, visitor).status_code == 204
    stored(trial_app)
    text = client.get("/admin", auth=ADMIN).get_data(as_text=True)
    rows = re.findall(
        r"<tr><td><code>(\w+)…</code></td><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td>\s*<td>([^<]+)</td>",
        text,
    )
    sha = file_sha256(demo_model.path)[:16]
    assert rows == [
        (sha, "1", "3", "2", "66.7 %"),
        (sha, "2", "3", "1", "33.3 %"),
        (sha, "3", "3", "0", "0.0 %"),
        (sha, "4", "3", "0", "0.0 %"),
    ]


def test_a_broken_candidate_means_no_trial_and_the_site_serves(make_app, demo_model, tmp_path):
    broken = tmp_path / "trial.npz"
    broken.write_bytes(b"not a model")
    app = make_app(
        demo_model.path,
        TRIAL_MODEL_PATH=str(broken),
        ADMIN_PASSWORD_HASH=generate_password_hash(PASSWORD),
        JOBS_DIR=str(tmp_path / "jobs"),
    )
    client = app.test_client()
    body = similar_of(client, demo_model.mids[0], VISITORS[0])
    with app.app_context():
        assert tickets.read(body["ticket"]).teams is None  # the active model's list alone
    assert client.get(f"/models/{demo_model.mids[0]}").status_code == 200
    assert client.get("/admin/trial.json", auth=ADMIN).status_code == 404
    page = client.get("/admin", auth=ADMIN).get_data(as_text=True)
    assert "cannot be loaded: see the log" in page and "End the trial" in page
