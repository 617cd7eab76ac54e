"""Memory headroom: "always allocate more memory than you think you need".

Four pieces, one module each:

* ``last_peak``: the last observed memory peak of a short on a data set (one cheap read);
* ``warning``: the line printed before a run whose memory cap is under ``caps.headroom`` x that
  peak (``shorts.launch.warn_about_headroom``);
* ``retry``: ``caps.on_memout=retry``, a memout rerun once with its cap times the headroom
  (``shorts.launch.execute_retrying``);
* ``advice`` and ``command``: ``shorts caps suggest``, caps proposed from the runs on record with
  the retrospective's cap lessons (``shorts.retro.cap_lessons``).

Nothing is imported here, so ``shorts run`` pays only for the piece it uses.
"""
