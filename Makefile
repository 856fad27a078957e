# Mutu: `make run` starts everything, `make test` runs the whole suite (both set up what they need).
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV     := .venv
PY       := $(VENV)/bin/python
STAMP    := $(VENV)/.installed-$(shell cat requirements.txt requirements.lock | cksum | cut -d' ' -f1)
MODEL    := models/mutu.tar.gz
RESULTS  := results
GENERATED := data/nlu/generated_preambles.yml
TRAIN_INPUTS := config.yml domain.yml $(filter-out $(GENERATED),$(shell find data -name '*.yml')) $(GENERATED) \
                bot/nlu.py bot/text.py bot/focus.py bot/topic_classifier.py

export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export PYTHONWARNINGS := ignore::DeprecationWarning
export PYTHONPATH := $(CURDIR)

RASA := $(PY) -m rasa

.PHONY: help venv model run shell validate test test-stories test-nlu test-scale scale-deps pytest eval eval-conv eval-blind bench profile clean browser report

help:
	@echo "make run       install, train if needed, start the bot, the actions and the widget demo page"
	@echo "make test      install, train if needed, then the whole test suite"
	@echo "make shell     talk to the bot in the terminal (start 'make run' in another terminal first)"
	@echo "make validate  rasa data validate, warnings included"
	@echo "make report    the last 30 days in the terminal: answers, topics, feedback, missed questions"
	@echo "make eval      shared FAQ evaluation against the running bot (needs ../shared)"
	@echo "make eval-conv shared conversation evaluation against the running bot (needs ../shared)"
	@echo "make eval-blind the blind sets and the attractor table (needs ../shared, MUTU_API_TOKEN)"
	@echo "make bench     benchmarks (bench/results.md)"
	@echo "make profile   where the Rasa server's time goes (bench/profile.md)"

$(STAMP): requirements.txt requirements.lock
	@python=$$(bot/tools/find-python.sh) || exit 1; \
	if [ ! -x $(PY) ]; then echo "Creating $(VENV) with $$python"; "$$python" -m venv $(VENV) || exit 1; fi
	$(PY) -m pip install --quiet --disable-pip-version-check pip==23.3.2
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt -c requirements.lock
	@rm -f $(VENV)/.installed-*; touch $@

venv: $(STAMP)

# Long-message training examples, generated from bot/tools/preambles.yml (not committed).
$(GENERATED): bot/tools/augment.py bot/tools/preambles.yml $(filter-out $(GENERATED),$(shell find data/nlu -name '*.yml')) | $(STAMP)
	$(PY) -m bot.tools.augment $@

# Trains only when the training data, the domain, the config or the NLU components changed.
$(MODEL): $(TRAIN_INPUTS) | $(STAMP)
	$(RASA) train --fixed-model-name mutu --out models
	@touch $@

model: $(MODEL)

run: $(MODEL)
	$(PY) -m bot run

# The console's figures in the terminal (conversations, answers, topics, feedback, missed questions).
report: $(STAMP)
	$(PY) -m bot report

shell: $(STAMP)
	$(RASA) shell --model $(MODEL) --endpoints endpoints.yml

validate: $(STAMP) $(GENERATED)
	$(PY) -m bot.tools.validate

test-stories: $(MODEL)
	$(RASA) test core --e2e --model $(MODEL) --stories tests/test_stories.yml \
	  --fail-on-prediction-errors --out $(RESULTS)/stories

# Cross-validation on the written examples only (generated ones would leak across folds).
test-nlu: $(STAMP)
	@rm -rf $(RESULTS)/cv-data && mkdir -p $(RESULTS)/cv-data && \
	  for f in data/nlu/*.yml; do [ "$$f" = "$(GENERATED)" ] || cp "$$f" $(RESULTS)/cv-data/; done
	$(PY) -m bot.tools.cross_validate --nlu $(RESULTS)/cv-data --config config.yml --cross-validation --folds 3 --out $(RESULTS)/nlu
	$(PY) -m bot.tools.check_nlu $(RESULTS)/nlu

# Debian's chromium drives the widget tests (never `playwright install`).
browser:
	@command -v chromium >/dev/null 2>&1 || { echo "Installing Debian's chromium for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

pytest: $(MODEL) browser
	$(PY) -m pytest tests -p no:cacheprovider -ra

# PostgreSQL and Redis from Debian's packages for the scale-out test.
scale-deps:
	@{ ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && command -v redis-server >/dev/null; } || { \
	  echo "Installing Debian's postgresql and redis-server for the scale-out test"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql redis-server; }

test-scale: $(MODEL) scale-deps
	$(PY) -m pytest tests/scale -m scale -p no:cacheprovider -ra

test: validate $(MODEL) test-stories pytest test-scale test-nlu

eval: $(STAMP)
	$(PY) ../shared/eval/faq_eval.py ../shared/eval/questions.dev.yml --show-failures

# Whole conversations (shared development and visitors sets) against the running bot (needs ../shared).
eval-conv: $(STAMP)
	$(PY) ../shared/eval/conv_eval.py ../shared/eval/conversations.dev.yml --show-failures
	$(PY) ../shared/eval/conv_eval.py ../shared/eval/conversations.visitors.yml --show-failures

# The blind sets written for each round (tests/blind/, scores in its README) and the attractor
# table (which answer takes other topics' questions) against the running bot (needs ../shared).
eval-blind: $(STAMP)
	@for f in tests/blind/set*.yml; do echo "== $$f"; \
	  $(PY) ../shared/eval/conv_eval.py $$f | tail -1; done
	$(PY) -m bot.tools.attractors ../shared/eval/questions.dev.yml tests/questions.yml \
	  ../shared/eval/conversations.visitors.yml tests/blind/set*.yml --token "$${MUTU_API_TOKEN:?set MUTU_API_TOKEN to the running bot's token}"

# Our bot against Rasa's default config on the same data; writes bench/results.md (~10 min).
bench: $(MODEL) scale-deps
	$(PY) bench/run.py

# Where the Rasa server's time goes (py-spy); writes bench/profile.md (~2 min).
profile: $(MODEL)
	$(PY) bench/profile.py

clean:
	rm -rf models $(RESULTS) .pytest_cache
