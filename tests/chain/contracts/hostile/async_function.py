"""Attack: an async function (coroutines run outside the metered loop); expected: refused at compile time."""
# expect: compile


async def attack() -> int:  # <- refused
    return 0
