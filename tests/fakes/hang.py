#!/usr/bin/env python3
"""Never answers: starts a grandchild `sleep 300`, records its PID, then sleeps.

The PID goes to the file named by $HANG_PID_FILE (or argv[1]) so a test can
check that a timeout killed the whole process group, grandchild included.
"""

import os
import subprocess
import sys
import time

grandchild = subprocess.Popen(["sleep", "300"])
pid_file = os.environ.get("HANG_PID_FILE") or (sys.argv[1] if len(sys.argv) > 1 else None)
if pid_file:
    with open(pid_file + ".tmp", "w") as f:
        f.write(str(grandchild.pid))
    os.replace(pid_file + ".tmp", pid_file)  # readers never see a half-written PID
time.sleep(300)
