import subprocess
import sys

import pytest

from teamsrl_graph.cli import main


def test_help_lists_generate():
    out = subprocess.run([sys.executable, "-m", "teamsrl_graph.cli", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "generate" in out.stdout


@pytest.mark.parametrize(
    "content, args, message",
    [
        ('{"instruction": "ok"}\n{"instruction": \n', [], "seeds.jsonl:2: bad JSON"),
        ('{"instruction": "ok"}\n{"text": "x"}\n', [], "seeds.jsonl:2 field 'instruction': missing"),
        ('{"instruction": "ok"}\n', ["--budget", "0"], "field '--budget': must be a whole number of at least 1 or the "
                                                 "option left out, got 0"),
        ('{"instruction": "ok"}\n', ["--max-batch", "0"], "field '--max-batch': must be a whole number of at least 1 or the "
                                                    "option left out, got 0"),
        ('{"instruction": "ok"}\n', ["--workers", "0"], "field '--workers': must be a whole number of at least 1 or the "
                                                  "option left out, got 0"),
        ('{"instruction": "ok"}\n', ["--router", "clever"], "unknown router 'clever'"),
        ('{"instruction": "ok"}\n', ["--max-seed-tokens", "0"], "field '--max-seed-tokens': must be a whole number of at least 1"),
        ('{"instruction": "ok"}\n', ["--concurrency", "0"], "field '--concurrency': must be a whole number of at least 1"),
        ('{"instruction": "ok"}\n', ["--model", "nonsense"], "neither 'local' nor 'provider:model'"),
        ('{"instruction": "ok"}\n', ["--model", "openai/gpt-4o-mini"], "did you mean 'openai:gpt-4o-mini'?"),
    ],
)
def test_bad_input_exits_2_with_the_place_and_writes_nothing(tmp_path, capsys, content, args, message):
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text(content)
    out = tmp_path / "out"
    code = main(["generate", "--seeds", str(seeds), "--out", str(out), *args])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and "Traceback" not in err
    assert not (out / "dataset.jsonl").exists()


def test_bad_prompt_folder_exits_2(tmp_path, capsys):
    (tmp_path / "p").mkdir()
    seeds = tmp_path / "s.txt"
    seeds.write_text("Explain tides.\n")
    code = main(["generate", "--seeds", str(seeds), "--out", str(tmp_path / "o"), "--prompts", str(tmp_path / "p")])
    assert code == 2 and "no template" in capsys.readouterr().err


@pytest.mark.parametrize(
    "url, public",
    [("http://user:secret@127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1"), ("https://api.example.com/v1", "https://api.example.com/v1"), (None, None)],
)
def test_server_credentials_never_reach_reports(url, public):
    from teamsrl_graph.running.rundir import public_url

    assert public_url(url) == public
