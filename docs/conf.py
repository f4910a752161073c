"""Sphinx configuration of the book: the notebooks' student edition and the report pages, as an HTML site
that reads offline. Built by `make book` (`python -m zsct_lib.classroom.book`), which writes the student edition of
notebooks/ into the source tree beside these pages and copies a local MathJax into the site; nothing is
executed (the notebooks carry their outputs)."""

project = "Zero-style loss and tail-class content transfer"
author = "the zsct authors"
copyright = "2026, the zsct authors; code MIT, text and figures CC BY 4.0"

extensions = ["myst_nb"]
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
nb_execution_mode = "off"                      # the committed outputs, as they are
nb_ipywidgets_js = {}                          # widget outputs are replaced by a note: no widget scripts (CDN)
exclude_patterns = ["_build", "**.ipynb_checkpoints", "conf.py"]
suppress_warnings = ["mystnb.unknown_mime_type"]

html_theme = "sphinx_book_theme"
html_title = "Zero-style loss and tail-class content transfer"
html_static_path = ["_static"]
html_css_files = ["book.css"]
html_last_updated_fmt = None
html_copy_source = True                        # the download button offers the page's source (.ipynb, .md)
html_show_sourcelink = False
html_theme_options = {
    "use_download_button": True,               # the student notebook or the page's Markdown, offline
    "use_fullscreen_button": False,
    "use_repository_button": False,            # no link that needs the network
    "launch_buttons": {},                      # Binder and Colab need the network: none
    "show_toc_level": 2,
    "navigation_with_keys": False,
}

# Equations: MathJax 2 from the site itself (the driver copies the jupyter-server-mathjax package's copy
# into _static/mathjax); never a CDN.
mathjax_path = "mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"
mathjax2_config = {
    "tex2jax": {"inlineMath": [["\\(", "\\)"]], "displayMath": [["\\[", "\\]"]],
                "processEscapes": True, "ignoreClass": "document", "processClass": "math|output_area"},
    "HTML-CSS": {"availableFonts": [], "imageFont": None, "preferredFont": None, "webFont": "STIX-Web"},
    "SVG": {"font": "STIX-Web"},
}
