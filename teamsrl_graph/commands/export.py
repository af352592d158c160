"""`teamsrl export`: the graph's dataset.jsonl as a Hugging Face dataset in one of TRL's formats,
written as JSON lines, Parquet or a `save_to_disk` folder and, when asked, pushed to the hub (never
otherwise). An existing output is replaced only with --overwrite."""

from __future__ import annotations


def add_arguments(parser):
    parser.add_argument("--data", required=True, help="the graph's dataset.jsonl")
    parser.add_argument("--format", default="messages", choices=("messages", "prompt-completion", "alpaca", "rlvr"),
                        help="messages (conversational), prompt-completion (conversational), alpaca "
                             "(instruction/input/output) or rlvr (prompt + constraints, for GRPO with "
                             "teamsrl_graph.dataio.export.constraint_reward) (default: messages)")
    parser.add_argument("--out", help="file or folder to write the dataset to")
    parser.add_argument("--to", choices=("jsonl", "parquet", "disk"),
                        help="jsonl and parquet load with datasets.load_dataset, disk with load_from_disk "
                             "(default: by --out's suffix: .jsonl, .parquet, else disk)")
    parser.add_argument("--overwrite", action="store_true", help="replace --out if it exists (default: refuse)")
    parser.add_argument("--all", action="store_true", dest="keep_failed",
                        help="also export records whose answer failed review (default: only those that passed)")
    parser.add_argument("--push-to-hub", metavar="REPO", help="also push the dataset to this hub repository (needs a token)")
    parser.add_argument("--private", action="store_true", help="make the pushed repository private")


def run(args) -> int:
    from ..common.errors import InputError
    from ..dataio.export import check_out, push, target_of, to_dataset, write

    if not args.out and not args.push_to_hub:
        raise InputError("nothing to do: give --out, --push-to-hub or both", field="--out")
    if args.out:
        check_out(args.out, args.overwrite)  # before the data is read: a refused output costs nothing
    dataset = to_dataset(args.data, args.format, keep_failed=args.keep_failed)  # bad data fails before any output
    done = []
    if args.out:
        done.append(f"written to {write(dataset, args.out, args.to, overwrite=args.overwrite)} "
                    f"({target_of(args.out, args.to)})")
    if args.push_to_hub:
        done.append(f"pushed to {push(dataset, args.push_to_hub, private=args.private)}")
    print(f"export: {len(dataset)} rows ({args.format}; columns {', '.join(dataset.column_names)}) {' and '.join(done)}")
    return 0
