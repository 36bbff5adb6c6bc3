# The two commands: `make run` and `make test`. Only python3.11, make and git are assumed.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test test-slow bench bench-consensus bench-contracts bench-traceability bench-iot clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

run: $(STAMP)
	@command -v mosquitto >/dev/null || test -x /usr/sbin/mosquitto || (apt-get update -qq && apt-get install -y -qq mosquitto) \
		|| echo "Mosquitto could not be installed: the demo runs without its IoT part"
	$(PY) -m web.demo

test: $(STAMP)
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)
	command -v mosquitto >/dev/null || test -x /usr/sbin/mosquitto || (apt-get update -qq && apt-get install -y -qq mosquitto)
	$(PY) -m mypy
	$(PY) -m pytest -n 2 -q

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow

bench: $(STAMP)
	$(PY) -m bench.crypto
	$(PY) -m bench.codec
	$(PY) -m bench.storage
	$(PY) -m bench.ledger
	$(PY) -m bench.contracts

bench-gateway: $(STAMP)
	$(PY) -m bench.gateway --transactions 20000 --readers 100 --seconds 15

bench-consensus: $(STAMP)
	$(PY) -m bench.consensus --suite classic --nodes 4 --seconds 60
	$(PY) -m bench.consensus --suite sm --nodes 4 --seconds 60
	$(PY) -m bench.consensus --suite classic --nodes 7 --seconds 60

bench-contracts: $(STAMP)
	$(PY) -m bench.contracts

bench-traceability: $(STAMP)
	$(PY) -m bench.traceability
	$(PY) -m bench.trace_labels --labels 3000

bench-iot: $(STAMP)
	$(PY) -m bench.iot_bridge --devices 20 --rate 2000 --seconds 20
	$(PY) -m bench.iot_bridge --devices 20 --rate 2400 --seconds 20

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info
