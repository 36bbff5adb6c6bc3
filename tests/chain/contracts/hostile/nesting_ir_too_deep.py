"""Attack: ifs nested 38 deep: within the source nesting limit, but past the IR's nesting limit once compiled; expected: refused at compile time, not at deploy."""
# expect: compile


def attack() -> int:
    x = 0
    if x == 0:
        if x == 0:
            if x == 0:
                if x == 0:
                    if x == 0:
                        if x == 0:
                            if x == 0:
                                if x == 0:
                                    if x == 0:
                                        if x == 0:
                                            if x == 0:
                                                if x == 0:
                                                    if x == 0:
                                                        if x == 0:
                                                            if x == 0:
                                                                if x == 0:
                                                                    if x == 0:
                                                                        if x == 0:
                                                                            if x == 0:
                                                                                if x == 0:
                                                                                    if x == 0:
                                                                                        if x == 0:
                                                                                            if x == 0:
                                                                                                if x == 0:
                                                                                                    if x == 0:
                                                                                                        if x == 0:
                                                                                                            if x == 0:
                                                                                                                if x == 0:
                                                                                                                    if x == 0:
                                                                                                                        if x == 0:
                                                                                                                            if x == 0:  # <- refused
                                                                                                                                if x == 0:
                                                                                                                                    if x == 0:
                                                                                                                                        if x == 0:
                                                                                                                                            if x == 0:
                                                                                                                                                if x == 0:
                                                                                                                                                    if x == 0:
                                                                                                                                                        if x == 0:
                                                                                                                                                            x = 1
    return x
