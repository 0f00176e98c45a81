"""The broadcast director (SPEC §8): the scene the full-scene overlay shows, taken from the control
room, the API or a run-sheet cue. `scenes` checks a scene and builds what the page draws,
`services` takes it, `live` sends it and puts it in a snapshot."""
