"""Pieces shared by the graph and the trainers: errors, files, prompts, plots, LoRA and training helpers."""
