"""Attack: forty private functions calling each other in a chain (no cycle, so the compiler allows it); expected: stopped by the call depth limit."""
# expect: limit:depth


def attack() -> int:
    return _f0()


def _f0() -> int:
    return _f1() + 1

def _f1() -> int:
    return _f2() + 1

def _f2() -> int:
    return _f3() + 1

def _f3() -> int:
    return _f4() + 1

def _f4() -> int:
    return _f5() + 1

def _f5() -> int:
    return _f6() + 1

def _f6() -> int:
    return _f7() + 1

def _f7() -> int:
    return _f8() + 1

def _f8() -> int:
    return _f9() + 1

def _f9() -> int:
    return _f10() + 1

def _f10() -> int:
    return _f11() + 1

def _f11() -> int:
    return _f12() + 1

def _f12() -> int:
    return _f13() + 1

def _f13() -> int:
    return _f14() + 1

def _f14() -> int:
    return _f15() + 1

def _f15() -> int:
    return _f16() + 1

def _f16() -> int:
    return _f17() + 1

def _f17() -> int:
    return _f18() + 1

def _f18() -> int:
    return _f19() + 1

def _f19() -> int:
    return _f20() + 1

def _f20() -> int:
    return _f21() + 1

def _f21() -> int:
    return _f22() + 1

def _f22() -> int:
    return _f23() + 1

def _f23() -> int:
    return _f24() + 1

def _f24() -> int:
    return _f25() + 1

def _f25() -> int:
    return _f26() + 1

def _f26() -> int:
    return _f27() + 1

def _f27() -> int:
    return _f28() + 1

def _f28() -> int:
    return _f29() + 1

def _f29() -> int:
    return _f30() + 1

def _f30() -> int:
    return _f31() + 1

def _f31() -> int:
    return _f32() + 1

def _f32() -> int:
    return _f33() + 1

def _f33() -> int:
    return _f34() + 1

def _f34() -> int:
    return _f35() + 1

def _f35() -> int:
    return _f36() + 1

def _f36() -> int:
    return _f37() + 1

def _f37() -> int:
    return _f38() + 1

def _f38() -> int:
    return _f39() + 1


def _f39() -> int:
    return 0
