"""The controller manager: one small level-triggered loop per controller, all written on the same runner."""
