"""`teamsrl export`: the graph's dataset.jsonl as a Hugging Face dataset in one of TRL's formats,
saved with `save_to_disk` and, when asked, pushed to the hub (never otherwise)."""

from __future__ import annotations


def add_arguments(parser):
    parser.add_argument("--data", required=True, help="the graph's dataset.jsonl")
    parser.add_argument("--format", default="messages", choices=("messages", "prompt-completion", "alpaca"),
                        help="messages (conversational), prompt-completion (conversational) or alpaca "
                             "(instruction/input/output) (default: messages)")
    parser.add_argument("--out", help="folder to save the dataset to (datasets.load_from_disk reads it)")
    parser.add_argument("--all", action="store_true", dest="keep_failed",
                        help="also export records whose answer failed review (default: only those that passed)")
    parser.add_argument("--push-to-hub", metavar="REPO", help="also push the dataset to this hub repository (needs a token)")
    parser.add_argument("--private", action="store_true", help="make the pushed repository private")


def run(args) -> int:
    from ..common.errors import InputError
    from ..dataio.export import push, save, to_dataset

    if not args.out and not args.push_to_hub:
        raise InputError("nothing to do: give --out, --push-to-hub or both", field="--out")
    dataset = to_dataset(args.data, args.format, keep_failed=args.keep_failed)  # bad data fails before any output
    done = []
    if args.out:
        done.append(f"saved to {save(dataset, args.out)}")
    if args.push_to_hub:
        done.append(f"pushed to {push(dataset, args.push_to_hub, private=args.private)}")
    print(f"export: {len(dataset)} rows ({args.format}; columns {', '.join(dataset.column_names)}) {' and '.join(done)}")
    return 0
