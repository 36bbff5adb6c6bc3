"""Attack: ifs nested 45 deep to overflow the VM's stack; expected: refused at compile time (nesting limit)."""
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
                                                                                                                                                                                        x = 1
    return x
