"""Links to scikit-learn's documentation without fetching its inventory.

The build runs offline, so ``sphinx.ext.intersphinx`` cannot download
scikit-learn's object inventory. Docstrings inherited from scikit-learn
(``score``, ``set_output``, ...) use labels and glossary terms of its
documentation, and ours name its classes (``sklearn.svm.LinearSVR``). This
resolves both to scikit-learn's stable documentation.
"""

from docutils import nodes

SKLEARN = "https://scikit-learn.org/stable/"

#: Labels and glossary terms of scikit-learn's documentation -> page.
LABELS = {
    "r2_score": "modules/model_evaluation.html#r2-score",
    "metadata_routing": "metadata_routing.html",
    "meta-estimator": "glossary.html#term-meta-estimator",
    "df_output_transform": "developers/develop.html#developer-api-for-set-output",
    "sphx_glr_auto_examples_miscellaneous_plot_set_output.py": (
        "auto_examples/miscellaneous/plot_set_output.html"
    ),
}


def resolve(app, env, node, contnode):
    """Resolve ``sklearn.*`` objects, and scikit-learn's labels and terms."""
    target = node.get("reftarget", "")
    if node.get("refdomain") == "py" and target.startswith("sklearn."):
        url = f"{SKLEARN}modules/generated/{target}.html"
    elif node.get("reftype") in ("ref", "term") and target.lower() in LABELS:
        url = SKLEARN + LABELS[target.lower()]
    else:
        return None
    reference = nodes.reference("", "", internal=False, refuri=url)
    reference += contnode
    return reference


def setup(app):
    app.connect("missing-reference", resolve)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
