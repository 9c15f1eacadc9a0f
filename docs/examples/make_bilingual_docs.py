#!/usr/bin/env python3
"""Writes bilingual-docs.jsonl: 60 documents (30 English, 30 Japanese, alternating) of 4-7 template sentences from
the vocabulary of the golden tokenizers (tests/golden/text_lms), with a `lang` label. Standard library only;
seeded (Python 3.11+ `random`)."""
import json
import random

random.seed(1)
en_subj = ["The pianist", "A young violinist", "My sister", "The orchestra", "Our teacher", "The drummer"]
en_verb = ["played", "practised", "recorded", "composed", "listened to", "performed"]
en_obj = ["a quiet nocturne", "the new symphony", "an old folk song", "three short etudes", "the jazz standard"]
en_tail = ["yesterday.", "in Tokyo.", "at the festival!", "before dinner.", "with great care."]
ja_subj = ["ピアニストは", "若いバイオリン奏者が", "私の姉は", "オーケストラは", "先生は", "ドラマーが"]
ja_obj = ["静かな夜想曲を", "新しい交響曲を", "古い民謡を", "短い練習曲を三つ", "ジャズの名曲を"]
ja_verb = ["演奏した。", "練習しました。", "録音した。", "作曲しました！", "聴いた。"]
ja_time = ["昨日、", "東京で", "お祭りで", "夕食の前に", "とても丁寧に"]
c = random.choice
with open("bilingual-docs.jsonl", "w") as f:
    for i in range(60):
        ja = i % 2 == 1
        s = [
            (c(ja_time) + c(ja_subj) + c(ja_obj) + c(ja_verb))
            if ja
            else " ".join([c(en_subj), c(en_verb), c(en_obj), c(en_tail)])
            for _ in range(4 + random.randrange(4))
        ]
        text = ("" if ja else " ").join(s)
        f.write(json.dumps({"id": f"d{i}", "text": text, "lang": "ja" if ja else "en"}, ensure_ascii=False) + "\n")
