"""Attack: `import importlib` inside a function body; expected: refused at compile time."""
# expect: compile


def attack() -> int:
    import importlib  # <- refused
    return 0
