"""Writes tutorial_ko.ts (the Korean translation of the tutorial panel) and compiles it to .qm with lrelease.

Run from the repository root after changing a tr() string in app/tutorial_panel.py:
    python resources/i18n/make_ts.py
(`pyside6-lupdate app/tutorial_panel.py -ts resources/i18n/tutorial_ko.ts` lists the strings for a new language.)
"""

import shutil
import subprocess
import sys
from pathlib import Path
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent
CONTEXT = "TutorialPanel"
KO = {
    "Draw a digit, choose the target, then press <b>Next line</b>.": "숫자를 그리고 목표(target)를 고른 다음 <b>다음 줄</b>을 누르세요.",
    "Draw a digit first: it is the input of the forward pass.": "먼저 숫자를 그리세요. 그 그림이 순전파(forward pass)의 입력이 됩니다.",
    "<b>optimizer.zero_grad()</b> cleared the gradient buffers. Gradients add up over calls to "
    "backward(), so every step starts from nothing.<br>net.conv1.bias.grad = <tt>{grad}</tt>": "<b>optimizer.zero_grad()</b>가 변화도(gradient) 버퍼를 비웠습니다. 변화도는 backward()를 부를 때마다 "
    "누적되므로, 매 단계는 0에서 시작합니다.<br>net.conv1.bias.grad = <tt>{grad}</tt>",
    "<b>output = net(input)</b> ran the forward pass on your drawing (1×1×32×32). The ten outputs, one "
    "per digit:<br><tt>{outputs}</tt><br>The feature maps now show this pass.": "<b>output = net(input)</b>이 여러분의 그림(1×1×32×32)으로 순전파를 실행했습니다. 숫자마다 하나씩, "
    "10개의 출력:<br><tt>{outputs}</tt><br>특징 맵(feature map)이 이 순전파를 보여줍니다.",
    "CrossEntropyLoss compares the outputs with the digit {t}.": "CrossEntropyLoss는 출력을 숫자 {t}와 비교합니다.",
    "MSELoss compares the outputs with the one-hot vector for {t}.": "MSELoss는 출력을 {t}의 원-핫(one-hot) 벡터와 비교합니다.",
    "<b>loss = criterion(output, target)</b> = <b>{loss:.6f}</b>. {how}": "<b>loss = criterion(output, target)</b> = <b>{loss:.6f}</b>. {how}",
    "<b>loss.backward()</b> computed how the loss changes with every weight.<br>"
    "net.conv1.bias.grad before: <tt>{before}</tt><br>net.conv1.bias.grad after: <tt>{after}</tt><br>"
    "Below: conv1.weight.grad for the six 3×3 filters (red positive, blue negative).": "<b>loss.backward()</b>가 각 가중치에 따라 손실이 어떻게 변하는지 계산했습니다.<br>"
    "backward 전 net.conv1.bias.grad: <tt>{before}</tt><br>backward 후 net.conv1.bias.grad: <tt>{after}</tt><br>"
    "아래: 3×3 필터 6개의 conv1.weight.grad (빨강은 양수, 파랑은 음수).",
    "<b>optimizer.step()</b> moved every weight against its gradient: new = old − lr × grad."
    "<table>{rows}</table>After this step the network says <b>{digit}</b> ({confidence:.1f} %); "
    "the target {t} now has {target_p:.1f} %.": "<b>optimizer.step()</b>이 모든 가중치를 변화도의 반대 방향으로 옮겼습니다: new = old − lr × grad."
    "<table>{rows}</table>이 단계 후 신경망의 답은 <b>{digit}</b> ({confidence:.1f} %)이고, "
    "목표 {t}의 확률은 {target_p:.1f} %입니다.",
    "<b>optimizer.step()</b> was not applied: {reason}. The weights are unchanged. Training with too "
    "high a learning rate blew them up: press Reset weights (Ctrl+R) or load a checkpoint.": "<b>optimizer.step()</b>을 적용하지 않았습니다: {reason}. 가중치는 그대로입니다. 너무 높은 "
    "학습률로 학습해서 가중치가 발산했습니다: 가중치 초기화(Ctrl+R)를 누르거나 체크포인트를 불러오세요.",
    "Target digit": "목표 숫자",
    "The digit the step should teach (default: the network's own answer)": "이 단계가 가르칠 숫자 (기본값: 신경망 자신의 답)",
    "Criterion": "손실 함수",
    "Next line": "다음 줄",
    "Run the highlighted line on the live model": "강조된 줄을 지금의 모델에서 실행합니다",
    "Run all five": "다섯 줄 모두 실행",
    "Restart": "처음부터",
    "conv1.weight.grad": "conv1.weight.grad",
}


def main() -> None:
    messages = "".join(
        f"    <message>\n        <source>{escape(src)}</source>\n"
        f"        <translation>{escape(dst)}</translation>\n    </message>\n"
        for src, dst in KO.items()
    )
    ts = HERE / "tutorial_ko.ts"
    ts.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE TS>\n<TS version="2.1" language="ko_KR">\n'
        f"<context>\n    <name>{CONTEXT}</name>\n{messages}</context>\n</TS>\n",
        encoding="utf-8",
    )
    lrelease = shutil.which("pyside6-lrelease") or str(Path(sys.executable).parent / "pyside6-lrelease")
    subprocess.run([lrelease, str(ts), "-qm", str(HERE / "tutorial_ko.qm")], check=True)


if __name__ == "__main__":
    main()
