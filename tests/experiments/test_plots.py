"""`nnlearn plot`: the four figures exist, have the promised pixel size and are not blank."""

import sys

import numpy as np
import pytest

pytest.importorskip("matplotlib")

import nnlearn
from nnlearn.experiments.runs import plots
from nnlearn.cli import main
from nnlearn.data.png import read_png
from nnlearn.experiments.runs.folder import Run

NAMES = {"learning_curves.png": "learning_curves", "confusion_matrix.png": "confusion_matrix",
         "misclassified.png": "misclassified", "first_layer.png": "first_layer"}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("plots") / "run"
    assert main(["train", "--hidden", "25", "--epochs", "3", "--train-size", "2000", "--seed", "2",
                 "--run-dir", str(path), "--quiet", "--no-plots"]) == 0
    return path


def check_png(path, name):
    w, h = (round(s * plots.DPI) for s in plots.SIZES[name])
    image = read_png(path)
    assert image.shape[:2] == (h, w), (path, image.shape)
    grey = image[..., :3].astype(float).mean(axis=2)
    assert grey.std() > 5, path                        # not blank
    assert len(np.unique(grey)) > 20, path             # not a handful of flat colours
    assert (grey < 100).mean() > 0.002, path           # some dark marks (text, lines, digits)


@pytest.mark.slow
def test_plot_command_writes_four_figures(run_dir, tmp_path, capsys):
    out = tmp_path / "figs"
    assert main(["plot", str(run_dir), "--out", str(out)]) == 0
    printed = capsys.readouterr().out.split()
    assert sorted(p.split("/")[-1] for p in printed) == sorted(NAMES)
    for file, name in NAMES.items():
        check_png(out / file, name)


@pytest.mark.slow
def test_train_draws_the_plots_into_the_run_folder(tmp_path, capsys):
    path = tmp_path / "withplots"
    assert main(["train", "--hidden", "10", "--epochs", "1", "--train-size", "500", "--seed", "1",
                 "--run-dir", str(path)]) == 0
    assert "wrote 4 plots" in capsys.readouterr().out
    assert sorted(p.name for p in (path / "plots").iterdir()) == sorted(NAMES)


def test_confusion_matrix_counts():
    y = np.array([0, 0, 1, 2, 2, 2])
    p = np.array([0, 1, 1, 2, 0, 2])
    cm = plots.confusion_matrix(y, p, 3)
    expected = np.zeros((3, 3), int)
    for t, q in zip(y, p):
        expected[t, q] += 1
    np.testing.assert_array_equal(cm, expected)
    assert cm.sum() == 6 and np.trace(cm) == 4
    assert plots.confusion_matrix(y, p).shape == (3, 3)
    with pytest.raises(nnlearn.DataError, match="6 labels but y_pred has 2"):
        plots.confusion_matrix(y, p[:2])


def test_confusion_matrix_of_the_run_matches_its_test_accuracy(run_dir):
    net = nnlearn.load(Run(run_dir).model_path)
    X, y = nnlearn.data.load_mnist().test
    cm = plots.confusion_matrix(y, net.predict(X), 10)
    assert np.trace(cm) / cm.sum() == Run(run_dir).summary()["test_accuracy"]
    np.testing.assert_array_equal(cm.sum(axis=1), np.bincount(y, minlength=10))


def test_first_layer_images_are_the_weight_columns_and_conv_kernels():
    net = nnlearn.Network.from_sizes([784, 12, 10], seed=0)
    images, caption = plots.first_layer_images(net)
    assert images.shape == (12, 28, 28) and "Dense" in caption
    np.testing.assert_array_equal(images[5], net.layers[0].params["W"][:, 5].reshape(28, 28))
    from nnlearn.nn.layers import Conv2D, Flatten, MaxPool2D

    conv = nnlearn.Network([Conv2D(2, 6, 3, input_shape=(2, 8, 8)), nnlearn.ReLU(),
                            MaxPool2D(2), Flatten(), nnlearn.Dense(54, 3), nnlearn.Softmax()],
                           "log_likelihood", seed=0)
    images, caption = plots.first_layer_images(conv)
    assert images.shape == (6, 3, 3) and "3×3" in caption
    np.testing.assert_allclose(images, conv.layers[0].params["W"].mean(axis=1))


def test_convnet_filters_figure(tmp_path):
    from nnlearn.nn.layers import Conv2D, Flatten

    net = nnlearn.Network([Conv2D(1, 8, 5, input_shape=(1, 28, 28)), nnlearn.ReLU(), Flatten(),
                           nnlearn.Dense(8 * 24 * 24, 10), nnlearn.Softmax()], "log_likelihood",
                          seed=1)
    check_png(plots.first_layer(net, tmp_path / "f.png"), "first_layer")


def test_learning_curves_without_validation_and_with_no_records(tmp_path):
    records = [{"epoch": e, "training_cost": 1 / e, "training_accuracy": 0.5 + e / 100}
               for e in range(1, 6)]
    check_png(plots.learning_curves(records, tmp_path / "lc.png"), "learning_curves")
    with pytest.raises(nnlearn.DataError, match="at least one epoch"):
        plots.learning_curves([], tmp_path / "none.png")


def test_misclassified_when_nothing_is_wrong(tmp_path):
    X = np.random.default_rng(0).random((4, 784))
    y = np.array([1, 2, 3, 4])
    path = plots.misclassified(X, y, y, tmp_path / "m.png")
    assert read_png(path).shape[:2] == (860, 800)


def test_a_clear_error_without_matplotlib(run_dir, monkeypatch, capsys):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r'pip install "nnlearn\[plot\]" \(or pip install "\.\[plot\]"'):
        plots.learning_curves([{"epoch": 1, "training_cost": 1.0}], "x.png")
    assert main(["plot", str(run_dir)]) == 1
    assert "matplotlib, an optional extra" in capsys.readouterr().err
