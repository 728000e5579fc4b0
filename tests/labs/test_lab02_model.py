"""Lab 2 is graded right by the real nbgrader: full marks for the solution, none for
the released notebook, and none for cheats that pass every visible self-check.

Two kinds of cheat: *hard-coded* answers (values memorized from a run of the
solution, or branches for the visible examples), and an object whose ``__eq__``
always returns True.
"""

from __future__ import annotations

import pytest
from nbformat.v4 import new_code_cell

from harness import errors, execute, printed_json
from grading_proof import *  # noqa: F403 - the proof every lab owes: its fixtures and six tests

LAB = "lab02_model"

# Run after the solution to memorize its answers on the lab's own models.
MEMORIZE = """
import json
print("MEMO" + json.dumps({
    "front": [int(i) for i in front],
    "person": footprint(PERSON, 1),
    "chosen": footprint(build_cnn(WIDTH), 1),
}))
"""

# The lab's CNN, as the cheat copies it from a solution it has seen.
CNN = '''
    model = keras.Sequential([
        keras.Input((8, 8, 1)),
        keras.layers.Conv2D(w, 3, padding="same", activation="relu"),
        keras.layers.Conv2D(2 * w, 3, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.005),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
'''


def hard_coded_answers(memo: dict) -> dict[str, str]:
    """Answers that reproduce the lab's visible results without computing them."""
    person, chosen = memo["person"], memo["chosen"]
    return {
        # The worked example by its parameter count; anything else gets the memorized numbers.
        "lab02-count-footprint": f'''
def footprint(model, bytes_per_weight):
    params = model.count_params()
    if params == 690:
        return {{"params": 690, "macs": 2944, "weight_bytes": 690 * bytes_per_weight, "peak_activation_bytes": 320 * bytes_per_weight}}
    if params == {person["params"]}:
        return {{"params": params, "macs": {person["macs"]}, "weight_bytes": params * bytes_per_weight,
                "peak_activation_bytes": {person["peak_activation_bytes"]} * bytes_per_weight}}
    return {{"params": params, "macs": {chosen["macs"]}, "weight_bytes": params * bytes_per_weight,
            "peak_activation_bytes": {chosen["peak_activation_bytes"]} * bytes_per_weight}}
''',
        "lab02-budget-fits_device": '''
def fits_device(fp, profile, app_sram_bytes, app_flash_bytes):
    if fp["peak_activation_bytes"] == 140_000:
        return {"flash_left_bytes": 124_288, "sram_left_bytes": -8_928, "fits": False}
    return {"flash_left_bytes": 124_288, "sram_left_bytes": 31_072, "fits": True}
''',
        # A real model for the widths the visible checks use, one fixed model for any other.
        "lab02-design-build_cnn": f'''
def build_cnn(width):
    w = width if width in (2, 4, 8) else 8
{CNN}

WIDTH = 8
''',
        "lab02-sweep-pareto_front": f'''
def pareto_front(sizes, accuracies):
    if len(sizes) == 4:
        return [0, 2]
    if len(sizes) == 3:
        return [1, 2, 0]
    return {memo["front"]}
''',
        # The Nano's peak, typed in: right for the Nano, wrong for every other device.
        "lab02-latency-estimate_latency_s": '''
def estimate_latency_s(macs, profile, efficiency):
    if efficiency == 0:
        raise ValueError("efficiency must be positive")
    return 2.0 * macs / (256e6 * efficiency)
''',
        "lab02-latency-devices_meeting": '''
def devices_meeting(macs, target_s, efficiency, profiles):
    return ["h100_sxm", "jetson_orin_nano", "raspberry_pi_4", "esp32_s3", "nicla_vision"]
''',
    }


ALWAYS_EQUAL_EXTRA = {"lab02-design-build_cnn": "\n\nWIDTH = AlwaysEqual()\n"}

FUNCTION_OF = {
    "lab02-count-footprint": "footprint",
    "lab02-budget-fits_device": "fits_device",
    "lab02-design-build_cnn": "build_cnn",
    "lab02-sweep-pareto_front": "pareto_front",
    "lab02-latency-estimate_latency_s": "estimate_latency_s",
    "lab02-latency-devices_meeting": "devices_meeting",
}


@pytest.fixture(scope="module")
def solved_run(course, tmp_path_factory):
    """The solution, run top to bottom, with a last cell that prints its answers."""
    solved = course.solved()
    solved.cells.append(new_code_cell(MEMORIZE))
    ran = execute(solved, tmp_path_factory.mktemp("memo"))
    assert not errors(ran), errors(ran)
    return ran


@pytest.fixture(scope="module")
def memo(solved_run) -> dict:
    """The solution's answers on the lab's own models, as a cheater would copy them."""
    return printed_json(solved_run.cells[-1], "MEMO")


def test_the_solution_writes_nothing_to_stderr(solved_run):
    """nbgrader fails a test cell with any stderr output; the solution's cells write none at all."""
    noisy = {cell.id for cell in solved_run.cells if cell.cell_type == "code"
             for out in cell.get("outputs", []) if out.output_type == "stream" and out.name == "stderr"}
    assert noisy == set()
