"""Order of the gallery: from a first model to the paper's protocols."""

from pathlib import Path

ORDER = (
    "plot_quickstart.py",
    "plot_score_folder.py",
    "plot_quality_maps.py",
    "plot_intervals.py",
    "plot_pooling_fusion.py",
    "plot_grid_search_synthetic.py",
    "plot_fine_tuning.py",
    "plot_reproduce_clive.py",
)


class ExampleOrder:
    """Sort key of sphinx-gallery's ``within_subsection_order``.

    Examples listed in ``ORDER`` come first, in that order; any other
    example follows, by file name.
    """

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        name = Path(filename).name
        if name in ORDER:
            return (0, ORDER.index(name), name)
        return (1, 0, name)

    def __repr__(self):
        return f"<{self.__class__.__name__}>"
