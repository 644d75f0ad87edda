"""The programme administrator's process-template editor: templates, a draft edited step by step
and field by field, publishing it, and a preview of the timeline a learner would get."""
