"""Sphinx configuration of the gpuent documentation (``make docs``).

The scikit-image stack: autodoc + autosummary for the API reference, numpydoc for
the docstrings, sphinx-gallery for the examples in ``docs/examples/`` (every one is
executed during the build; a failing example fails the build). The build runs with
warnings as errors (``sphinx-build -W``).
"""

import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # document the source tree, not an old install

import gpuent  # noqa: E402
from gpuent._backend import gpu_available  # noqa: E402

project = "gpuent"
author = "the gpuent developers"
copyright = "2026, the gpuent developers"  # noqa: A001
release = gpuent.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "matplotlib.sphinxext.plot_directive",
]

# No network at build time: intersphinx maps stay empty (links to NumPy etc. are plain text).
intersphinx_mapping = {}

templates_path = ["_templates"]
exclude_patterns = ["_build", "examples", "Thumbs.db", ".DS_Store"]
root_doc = "index"
default_role = "code"
toc_object_entries = False  # keep API objects out of the page tables of contents
pygments_style = "sphinx"

# -- API reference ---------------------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"members": False}
autodoc_typehints = "none"  # numpydoc "Parameters" sections carry the types
numpydoc_show_class_members = False  # classes list their members explicitly in api.rst
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks = set()

# -- gallery ---------------------------------------------------------------------------
# The GPU example runs only where CuPy sees a GPU; elsewhere its code is shown, not run.
_run_pattern = r"/plot_" if gpu_available() else r"/plot_(?!\d+_gpu)"

sphinx_gallery_conf = {
    "examples_dirs": ["examples"],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": _run_pattern,
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": True,
    "remove_config_comments": True,
    "matplotlib_animations": (True, "jshtml"),
    "image_scrapers": ("matplotlib",),
    "min_reported_time": 0,
    "show_memory": False,
    "reference_url": {"gpuent": None},
    "backreferences_dir": "generated/backreferences",  # "Examples using ..." on API pages
    "doc_module": ("gpuent",),
    "plot_gallery": "True",
    "abort_on_example_error": False,  # run them all, then fail the build listing every one
    "capture_repr": (),  # only what an example prints
}

# -- matplotlib plot directive (user-guide pictures) -----------------------------------
plot_include_source = True
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 80)]
plot_rcparams = {"figure.figsize": (7, 2.6), "image.cmap": "inferno"}

# -- HTML ------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"gpuent {release}"
html_static_path = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_prev_next": True,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_show_sourcelink = False
html_copy_source = False  # the gallery sources are downloads already
html_context = {"default_mode": "light"}

os.environ.setdefault("GPUENT_DOCS", "1")
