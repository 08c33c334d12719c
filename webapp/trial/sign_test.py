"""The two-sided sign test: is one side winning more often than a fair coin would?"""

from scipy.stats import binomtest


def sign_test(wins, losses):
    """Two-sided exact binomial p-value of ``wins`` against ``losses`` under p = 1/2.

    Ties are left out by the caller. 1.0 when there is nothing to compare.
    """
    if wins + losses == 0:
        return 1.0
    return float(binomtest(wins, wins + losses, 0.5, alternative="two-sided").pvalue)
