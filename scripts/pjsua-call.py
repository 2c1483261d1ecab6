#!/usr/bin/env python3
# pjsua-call.py — one pjsua2 (PJSIP) user agent that calls a SIP UAS and hangs up, writing PJSIP's own log
# at level 5 (every SIP message it sends and receives). Used by scripts/make-pjsip-corpus.sh; PJSIP comes
# from PyPI's `pjsua2-python` wheel (pjproject 2.15.1), since Debian has no pjsua.
#
# usage: pjsua-call.py LOG_FILE LOCAL_IP LOCAL_PORT TARGET_URI [TRANSPORT udp|tcp] [SECONDS_IN_CALL]
#        pjsua-call.py LOG_FILE LOCAL_IP LOCAL_PORT register:REGISTRAR_URI [TRANSPORT] [SECONDS]   (REGISTER, no call)
import os, sys, time
import pjsua2 as pj

log_file, local_ip, local_port, target = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
transport = sys.argv[5] if len(sys.argv) > 5 else "udp"
hold = float(sys.argv[6]) if len(sys.argv) > 6 else 1.0

ep = pj.Endpoint()
ep.libCreate()
cfg = pj.EpConfig()
cfg.logConfig.level = 5                # PJSIP's message log (TX/RX … msg …) is written at level 5
cfg.logConfig.consoleLevel = 0
cfg.logConfig.filename = log_file      # default decor: time of day with ms, sender, thread switch, indent
cfg.uaConfig.maxCalls = 2
ep.libInit(cfg)
ep.audDevManager().setNullDev()        # no sound card here
tc = pj.TransportConfig()
tc.port = local_port
tc.boundAddress = local_ip
tc.publicAddress = local_ip
ep.transportCreate(pj.PJSIP_TRANSPORT_TCP if transport == "tcp" else pj.PJSIP_TRANSPORT_UDP, tc)
ep.libStart()

acfg = pj.AccountConfig()
acfg.idUri = "sip:pjsua@%s:%d" % (local_ip, local_port)
if target.startswith("register:"):
    acfg.regConfig.registrarUri = target[len("register:"):]
acc = pj.Account()
acc.create(acfg)
if target.startswith("register:"):
    end = time.time() + hold
    while time.time() < end:
        ep.libHandleEvents(50)
    ep.libDestroy()
    os._exit(0)

class Call(pj.Call):
    def __init__(self, acc):
        pj.Call.__init__(self, acc)
        self.state = None
    def onCallState(self, prm):
        self.state = self.getInfo().state

call = Call(acc)
prm = pj.CallOpParam(True)
call.makeCall(target + (";transport=tcp" if transport == "tcp" else ""), prm)
deadline = time.time() + 10
while time.time() < deadline and call.state != pj.PJSIP_INV_STATE_CONFIRMED and call.state != pj.PJSIP_INV_STATE_DISCONNECTED:
    ep.libHandleEvents(50)
end = time.time() + hold
while time.time() < end:
    ep.libHandleEvents(50)
ep.hangupAllCalls()
end = time.time() + 2
while time.time() < end:
    ep.libHandleEvents(50)
ep.libDestroy()
# The Call object's destructor, run at interpreter exit after libDestroy, trips a pjsua assertion: leave now.
os._exit(0)
