<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="ko_KR">
<context>
    <name>TutorialPanel</name>
    <message>
        <source>Draw a digit, choose the target, then press &lt;b&gt;Next line&lt;/b&gt;.</source>
        <translation>숫자를 그리고 목표(target)를 고른 다음 &lt;b&gt;다음 줄&lt;/b&gt;을 누르세요.</translation>
    </message>
    <message>
        <source>Draw a digit first: it is the input of the forward pass.</source>
        <translation>먼저 숫자를 그리세요. 그 그림이 순전파(forward pass)의 입력이 됩니다.</translation>
    </message>
    <message>
        <source>&lt;b&gt;optimizer.zero_grad()&lt;/b&gt; cleared the gradient buffers. Gradients add up over calls to backward(), so every step starts from nothing.&lt;br&gt;net.conv1.bias.grad = &lt;tt&gt;{grad}&lt;/tt&gt;</source>
        <translation>&lt;b&gt;optimizer.zero_grad()&lt;/b&gt;가 변화도(gradient) 버퍼를 비웠습니다. 변화도는 backward()를 부를 때마다 누적되므로, 매 단계는 0에서 시작합니다.&lt;br&gt;net.conv1.bias.grad = &lt;tt&gt;{grad}&lt;/tt&gt;</translation>
    </message>
    <message>
        <source>&lt;b&gt;output = net(input)&lt;/b&gt; ran the forward pass on your drawing (1×1×32×32). The ten outputs, one per digit:&lt;br&gt;&lt;tt&gt;{outputs}&lt;/tt&gt;&lt;br&gt;The feature maps now show this pass.</source>
        <translation>&lt;b&gt;output = net(input)&lt;/b&gt;이 여러분의 그림(1×1×32×32)으로 순전파를 실행했습니다. 숫자마다 하나씩, 10개의 출력:&lt;br&gt;&lt;tt&gt;{outputs}&lt;/tt&gt;&lt;br&gt;특징 맵(feature map)이 이 순전파를 보여줍니다.</translation>
    </message>
    <message>
        <source>CrossEntropyLoss compares the outputs with the digit {t}.</source>
        <translation>CrossEntropyLoss는 출력을 숫자 {t}와 비교합니다.</translation>
    </message>
    <message>
        <source>MSELoss compares the outputs with the one-hot vector for {t}.</source>
        <translation>MSELoss는 출력을 {t}의 원-핫(one-hot) 벡터와 비교합니다.</translation>
    </message>
    <message>
        <source>&lt;b&gt;loss = criterion(output, target)&lt;/b&gt; = &lt;b&gt;{loss:.6f}&lt;/b&gt;. {how}</source>
        <translation>&lt;b&gt;loss = criterion(output, target)&lt;/b&gt; = &lt;b&gt;{loss:.6f}&lt;/b&gt;. {how}</translation>
    </message>
    <message>
        <source>&lt;b&gt;loss.backward()&lt;/b&gt; computed how the loss changes with every weight.&lt;br&gt;net.conv1.bias.grad before: &lt;tt&gt;{before}&lt;/tt&gt;&lt;br&gt;net.conv1.bias.grad after: &lt;tt&gt;{after}&lt;/tt&gt;&lt;br&gt;Below: conv1.weight.grad for the six 3×3 filters (red positive, blue negative).</source>
        <translation>&lt;b&gt;loss.backward()&lt;/b&gt;가 각 가중치에 따라 손실이 어떻게 변하는지 계산했습니다.&lt;br&gt;backward 전 net.conv1.bias.grad: &lt;tt&gt;{before}&lt;/tt&gt;&lt;br&gt;backward 후 net.conv1.bias.grad: &lt;tt&gt;{after}&lt;/tt&gt;&lt;br&gt;아래: 3×3 필터 6개의 conv1.weight.grad (빨강은 양수, 파랑은 음수).</translation>
    </message>
    <message>
        <source>&lt;b&gt;optimizer.step()&lt;/b&gt; moved every weight against its gradient: new = old − lr × grad.&lt;table&gt;{rows}&lt;/table&gt;After this step the network says &lt;b&gt;{digit}&lt;/b&gt; ({confidence:.1f} %); the target {t} now has {target_p:.1f} %.</source>
        <translation>&lt;b&gt;optimizer.step()&lt;/b&gt;이 모든 가중치를 변화도의 반대 방향으로 옮겼습니다: new = old − lr × grad.&lt;table&gt;{rows}&lt;/table&gt;이 단계 후 신경망의 답은 &lt;b&gt;{digit}&lt;/b&gt; ({confidence:.1f} %)이고, 목표 {t}의 확률은 {target_p:.1f} %입니다.</translation>
    </message>
    <message>
        <source>&lt;b&gt;optimizer.step()&lt;/b&gt; was not applied: {reason}. The weights are unchanged. Training with too high a learning rate blew them up: press Reset weights (Ctrl+R) or load a checkpoint.</source>
        <translation>&lt;b&gt;optimizer.step()&lt;/b&gt;을 적용하지 않았습니다: {reason}. 가중치는 그대로입니다. 너무 높은 학습률로 학습해서 가중치가 발산했습니다: 가중치 초기화(Ctrl+R)를 누르거나 체크포인트를 불러오세요.</translation>
    </message>
    <message>
        <source>Target digit</source>
        <translation>목표 숫자</translation>
    </message>
    <message>
        <source>The digit the step should teach (default: the network's own answer)</source>
        <translation>이 단계가 가르칠 숫자 (기본값: 신경망 자신의 답)</translation>
    </message>
    <message>
        <source>Criterion</source>
        <translation>손실 함수</translation>
    </message>
    <message>
        <source>Next line</source>
        <translation>다음 줄</translation>
    </message>
    <message>
        <source>Run the highlighted line on the live model</source>
        <translation>강조된 줄을 지금의 모델에서 실행합니다</translation>
    </message>
    <message>
        <source>Run all five</source>
        <translation>다섯 줄 모두 실행</translation>
    </message>
    <message>
        <source>Restart</source>
        <translation>처음부터</translation>
    </message>
    <message>
        <source>conv1.weight.grad</source>
        <translation>conv1.weight.grad</translation>
    </message>
</context>
</TS>
