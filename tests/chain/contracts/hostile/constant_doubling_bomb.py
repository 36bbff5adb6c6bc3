"""Attack: module constants that each hold two copies of the previous one (2**26 items once inlined); expected: refused at compile time (constant size)."""
# expect: compile
C0 = (1, 1)
C1 = (C0, C0)
C2 = (C1, C1)
C3 = (C2, C2)
C4 = (C3, C3)
C5 = (C4, C4)
C6 = (C5, C5)
C7 = (C6, C6)
C8 = (C7, C7)
C9 = (C8, C8)
C10 = (C9, C9)
C11 = (C10, C10)  # <- refused
C12 = (C11, C11)
C13 = (C12, C12)
C14 = (C13, C13)
C15 = (C14, C14)
C16 = (C15, C15)
C17 = (C16, C16)
C18 = (C17, C17)
C19 = (C18, C18)
C20 = (C19, C19)
C21 = (C20, C20)
C22 = (C21, C21)
C23 = (C22, C22)
C24 = (C23, C23)
C25 = (C24, C24)


def attack() -> int:
    return len(C25)
