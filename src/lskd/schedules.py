"""A recipe's schedule keys checked against the epochs they apply to (torch-free: the config
check runs it at parse time, ``lskd.recipe.Recipe`` again for any caller).

Silent otherwise: ``MultiStepLR`` never reaches a milestone at or past the last epoch (the
learning rate never decays), a linear or one-cycle schedule ignores ``milestones``, and a warm-up
as long as the run never ends.
"""

SCHEDULES = ("step", "linear", "onecycle")


def schedule_problem(recipe: dict) -> str | None:
    """What is wrong with ``recipe``'s schedule keys, as "<key>: <problem>; <fix>", or None."""
    epochs = recipe["epochs"]
    milestones = recipe.get("milestones") or []
    schedule = recipe.get("schedule", "step")
    if schedule not in SCHEDULES:
        return f"schedule: {schedule!r} is not one of {', '.join(SCHEDULES)}"
    if milestones and schedule != "step":
        return (
            f"milestones: {schedule} schedules do not use them (only step does); "
            "remove them or set schedule: step"
        )
    late = [m for m in milestones if not 1 <= m < epochs]
    if late:
        return (
            f"milestones: {late} not between 1 and epochs - 1 = {epochs - 1}, so the learning "
            f"rate would never decay there; use milestones below epochs ({epochs})"
        )
    warmup = recipe.get("warmup_epochs", 0)
    if warmup >= epochs and warmup:
        return f"warmup_epochs: {warmup} is not below epochs ({epochs}); shorten the warm-up"
    return None
