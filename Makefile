# Two commands on a fresh machine: `make demo` runs the main job, `make test` passes the tests.
# Both create the virtual environment .venv and install the package into it when needed.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.zsct-installed
PYTEST_ARGS ?=

LOWEST_VENV ?= .venv-lowest
STUDENT_DIR ?= student

.PHONY: install demo test test-fast test-lowest test-grading-tools student book figures notebooks lab lab-student ablate ablate-128x256 ablate-128x256-synthia clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -e '.[dev]'
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (zsct)" >/dev/null
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/zsct demo

test: $(STAMP)
	$(PY) -m pytest tests notebooks --nbval-lax --nbval-current-env -q $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(PY) -m pytest tests -q -m "not slow" $(PYTEST_ARGS)

# The lowest release of every declared dependency (constraints/lowest.txt pins pyproject.toml's lower
# bounds) in a second environment, then the fast tests: the bounds are what was tested, not hoped for.
test-lowest:
	test -x $(LOWEST_VENV)/bin/python || $(PYTHON) -m venv $(LOWEST_VENV)
	$(LOWEST_VENV)/bin/python -m pip install --disable-pip-version-check -q -c constraints/lowest.txt -e '.[dev]'
	$(LOWEST_VENV)/bin/python -m pytest tests -q -m "not slow" $(PYTEST_ARGS)

# nbgrader and otter-grader themselves hand out and grade the exports (tests/test_grading_tools.py): the
# grading-tools extra, installed into .venv beside the rest; about 7 minutes on 2 cores.
test-grading-tools: $(STAMP)
	$(PY) -m pip install --disable-pip-version-check -q -e '.[grading-tools]'
	ZSCT_REQUIRE_GRADING_TOOLS=1 $(PY) -m pytest tests/test_grading_tools.py -q $(PYTEST_ARGS)

# The student edition: the notebooks without their solutions, the exercise checks not yet run
# (docs/teachers.md: how to hand it out).
student: $(STAMP)
	$(PY) -m zsct_lib.classroom.student --out $(STUDENT_DIR) --replace

# The book: the notebooks (student edition, not executed) and the report (docs/) as a static HTML site
# that reads offline, built with Sphinx, myst-nb and sphinx-book-theme (open book/index.html).
book: $(STAMP)
	$(PY) -m zsct_lib.classroom.book --out book

# Re-execute the committed notebooks in place (each one's wall time printed): after a change to what they load.
notebooks: $(STAMP)
	$(PY) -m zsct_lib.classroom.execute

figures: $(STAMP)
	$(VENV)/bin/zsct figures

# The study of Tables 3 and 4 from the shipped DISE stage: both variants, two runs at a time on two
# cores (about 1 h 40 min for both, measured on a 2-core machine; finished runs are reused).
ablate: $(STAMP)
	$(VENV)/bin/zsct ablate --config dise_stage --study --rows study --seeds 3 --out runs/study_gta_like
	$(VENV)/bin/zsct ablate --config dise_stage_synthia --study --rows study --seeds 3 --out runs/study_synthia_like

# The study at 128x256, built in parts: the DISE stage at that size for seeds 0..STUDY_SEEDS-1 (two at
# a time, 85 to 140 min each on one core in fp32), the DISE stage with the inverse-frequency class
# weights for the row "+Out dataset class weights" likewise, then the rows that fine-tune them, two at a
# time (about 6 h for the 13 rows of three seeds: the 12 others took 631 minutes of one core). Finished
# seeds and runs are reused, and an interrupted one resumes from its checkpoint, so each
# `make ablate-128x256 STUDY_SEEDS=k` adds a seed. The rows: the paper's, the named options of its
# regime and rare-class sampling. Seed 0 of NonAdapt and +Out keeps its weights (model.pt) for notebook
# 07. Every run is fp32 (train.amp=fp32) on any CPU: the configs' "auto" gives bf16 where the CPU
# computes it natively, and a study's seeds must not differ in precision.
STUDY_SEEDS ?= 1
SIZE_128X256 := --set data.height=128 --set data.width=256 --set data.crop_height=128 --set data.crop_width=256 \
  --set train.amp=fp32
STUDY_128X256_ROWS := NonAdapt,Sty,+Cyc,+ST,+In,+Out,+Out context-aware,+In with L_st kept,+Out whole objects,+Out dataset class weights,+ST rare-class sampling,+Out rare-class sampling,Oracle
# $(call study_128x256,config,benchmark,study folder)
define study_128x256
	$(VENV)/bin/zsct pretrain --config $(1) --seeds $(STUDY_SEEDS) --jobs 2 $(SIZE_128X256) --out results/dise_stage_$(2)_128x256
	$(VENV)/bin/zsct pretrain --config $(1) --seeds $(STUDY_SEEDS) --jobs 2 $(SIZE_128X256) \
	  --set loss.class_balance_counts=dataset --out results/dise_stage_strong_weights_$(2)_128x256
	$(VENV)/bin/zsct ablate --config $(1) --study $(SIZE_128X256) --starts results/dise_stage_$(2)_128x256 \
	  --rows "$(STUDY_128X256_ROWS)" --ship-models NonAdapt,+Out --seeds $(STUDY_SEEDS) --jobs 2 --out $(3)
endef
ablate-128x256: $(STAMP)
	$(call study_128x256,dise_stage,gta_like,results/study_gta_like_128x256)

ablate-128x256-synthia: $(STAMP)
	$(call study_128x256,dise_stage_synthia,synthia_like,results/study_synthia_like_128x256)

# The teacher's copy: notebooks/, with the solutions (collapsed cells tagged solution).
lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks

# What the students see: the student edition, written first when it is not there yet.
lab-student: $(STAMP)
	test -d $(STUDENT_DIR) || $(PY) -m zsct_lib.classroom.student --out $(STUDENT_DIR)
	$(VENV)/bin/jupyter lab $(STUDENT_DIR)

clean:
	rm -rf $(VENV) $(LOWEST_VENV) $(STUDENT_DIR) book runs .pytest_cache
