"""Time: working days, deadlines and reminders, retention (pure); the jobs that run them are in
mailbot.schedule.jobs (the shell)."""
