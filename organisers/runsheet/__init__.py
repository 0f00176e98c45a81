"""The run sheet (SPEC §6b): the event's script of timed cues. `times` reads a cue's time, `rules`
checks cues, `services` writes, fires and steers them, `sheet` takes them in and out of
spreadsheets, `live` shows them on the organisers' screens."""
