"""Running a generation: the query budget, LLM calls, the run folder and its report."""
