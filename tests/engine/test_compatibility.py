"""The one dataset-network check the Train panel and the Trainer share."""

from engine.graph.edits import RemoveNodes, SetParams
from engine.graph.validate import ERROR
from engine.templates import load_template
from engine.training.compatibility import (INFO, compatibility_problem, input_note,
                                           output_mismatch, shape_text)

OUTPUT = "n9"  # lenet5's output Dense (10 units)


def lenet(**changes):
    spec = load_template("lenet5")
    for node_id, params in changes.items():
        spec = SetParams(node_id, params).apply(spec)
    return spec


def test_a_matching_output_has_no_mismatch():
    assert output_mismatch(lenet(), 10, "digits") is None


def test_a_dense_output_of_the_wrong_width_is_fixable():
    mismatch = output_mismatch(lenet(), 3, "faces")
    assert mismatch.fixable and mismatch.node_id == OUTPUT and mismatch.classes == 3
    assert mismatch.message == ("Output output has 10 units but faces has 3 classes; "
                                "set units of output to 3.")
    # The Trainer names the dataset its own way; the rest of the sentence is the same.
    assert "but dataset 'faces' has 3 classes" in output_mismatch(lenet(), 3, "dataset 'faces'").message


def test_a_non_dense_output_explains_instead():
    mismatch = output_mismatch(load_template("nin-mini"), 2, "faces")
    assert not mismatch.fixable
    assert "has 10 units but faces has 2 classes" in mismatch.message
    assert "Activation block" in mismatch.message


def test_an_output_that_is_not_one_score_per_class():
    spec = RemoveNodes(("n6", "n7", "n8", "n9")).apply(load_template("lenet5"))  # ends in S4
    mismatch = output_mismatch(spec, 10, "digits")
    assert not mismatch.fixable
    assert mismatch.message.startswith("Output S4 gives 5x5x16, not one score per class")


def test_a_half_built_graph_gives_no_verdict():
    spec = RemoveNodes(tuple(f"n{index}" for index in range(2, 10))).apply(load_template("lenet5"))
    assert output_mismatch(spec, 10, "digits") is None


def test_input_notes_say_how_images_reach_the_input():
    spec = lenet()
    assert input_note(spec, (32, 32, 1)).message == "Images are 32x32x1, the size the input takes."
    resized = input_note(spec, (8, 8, 1))
    assert resized.severity == INFO and resized.target_shape == (32, 32, 1)
    assert "resized to 32x32x1" in resized.message
    assert "converted to grayscale (32x32x1)" in input_note(spec, (32, 32, 3)).message
    assert "resized and converted to grayscale" in input_note(spec, (12, 12, 3)).message
    refused = input_note(spec, (32, 32, 2))
    assert refused.severity == ERROR and "set the Input block's channels to 2" in refused.message
    assert input_note(spec, None) is None
    assert input_note(lenet(n1={"shape": [None, None, 3]}), (8, 8, 1)).message.endswith(
        "converted to RGB (8x8x3).")


def test_compatibility_problem_is_the_first_blocking_reason():
    assert compatibility_problem(lenet(), 10, (8, 8, 1), "digits") == ""
    assert "has 10 units but digits has 7" in compatibility_problem(lenet(), 7, (8, 8, 1), "digits")
    assert "channels" in compatibility_problem(lenet(), 10, (8, 8, 2), "digits")
    assert compatibility_problem(lenet(), None, None, "mnist") == ""


def test_shape_text():
    assert shape_text((None, 28, 1)) == "?x28x1"
