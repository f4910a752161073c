"""The classroom wing: what the notebooks show and how a course runs them.

* `analysis`: the numbers behind the notebooks' figures and sentences (draws nothing);
* `plotting`: every figure, by topic, and the files of figures/ (`zsct figures`);
* `widgets`: the notebooks' interactive views;
* `exercises`: the checkers of the notebooks' exercises, with their points;
* `student`: the student edition and the nbgrader and otter exports (`make student`);
* `grading`: `zsct grade`, the exercises of handed-in notebooks;
* `book`: the book (`make book`); `execute`: the series executed in place (`make notebooks`).
"""
