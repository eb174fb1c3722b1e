"""Two claims about a network of our own: select x5 out of 16 inputs, then square it with a Yarotsky head.

``mylab.square.bound`` holds (the head's error is 2^(-2m-2) = 1/256 for m = 3, below the claimed 1/128).
``mylab.square.planted`` is false on purpose (it claims 1/1024): cnnverify must report it as ``fail``, with a point
where the exact error is above 1/1024.
"""

import checks
import theory

SOURCE = "my_lemma example project (our own construction)"


def square_of_x5() -> theory.Network:
    """select(16, [5]) followed by the Yarotsky square head with m = 3: approximately x5^2 on [0, 1]."""
    return theory.compose(theory.select(16, [5], 2), theory.square_head(m=3))


@checks.claim(
    "mylab.square.bound",
    statement="sup over x in [0,1]^16 of |net(x) - x5^2| <= 1/128.",
    source=SOURCE,
    kind="formal",
    cost={"quick": 3, "full": 3},
)
def square_bound(ctx):
    return checks.expect_sup_error(square_of_x5(), "x5**2", (0, 1), "1/128", time_limit_s=20)


@checks.claim(
    "mylab.square.planted",
    statement="sup over x in [0,1]^16 of |net(x) - x5^2| <= 1/1024 (planted: false).",
    source=SOURCE,
    kind="formal",
    cost={"quick": 3, "full": 3},
)
def square_planted(ctx):
    return checks.expect_sup_error(square_of_x5(), "x5**2", (0, 1), "1/1024", time_limit_s=20)
