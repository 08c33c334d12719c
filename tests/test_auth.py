"""The admin-password command prints a hash that checks."""

from webapp import create_app


def test_admin_password_command_prints_a_hash_that_checks():
    from werkzeug.security import check_password_hash

    app = create_app({"TESTING": True, "SECRET_KEY": "x", "MODEL_PATH": "/nonexistent.npz"})
    result = app.test_cli_runner().invoke(args=["admin-password"], input="s3cret\ns3cret\n")
    assert result.exit_code == 0, result.output
    assert check_password_hash(result.output.strip().splitlines()[-1], "s3cret")
