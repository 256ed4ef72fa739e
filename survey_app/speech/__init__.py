"""Read-aloud audio of a questionnaire: the speech engines that voice its texts
(`engine`), the conversion of sound into the small Ogg Opus files the survey page plays
(`codec`), which texts are read for a version and language (`texts`) and where the
files are kept (`store`). What is made or uploaded, and when, is `services.audio`."""
