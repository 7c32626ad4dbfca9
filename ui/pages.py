"""The app's pages, declared once: app.py builds the navigation from this list and the
home page links every lesson in it. (script, name for locale keys and the URL, icon)"""

PAGES = [
    ("lessons/home.py", "home", ":material/home:"),
    ("lessons/draw.py", "draw", ":material/draw:"),
    ("lessons/convolution.py", "convolution", ":material/grid_on:"),
    ("lessons/pooling.py", "pooling", ":material/view_in_ar:"),
    ("lessons/shapes.py", "shapes", ":material/straighten:"),
    ("lessons/losses.py", "losses", ":material/trending_down:"),
    ("lessons/gradients.py", "gradients", ":material/landscape:"),
    ("lessons/training.py", "training", ":material/model_training:"),
    ("lessons/explain.py", "explain", ":material/lightbulb:"),
    ("lessons/teacher.py", "class", ":material/co_present:"),
]
LESSONS = [page for page in PAGES if page[1] != "home"]
