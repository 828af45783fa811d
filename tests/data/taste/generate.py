"""Writes corpus.json beside it: two days of arXiv-like candidates for the taste evaluation (benchmarks/taste_eval.py).

    python tests/data/taste/generate.py        # deterministic (seed below): the same file every time

Each paper has a `topic`, the truth the evaluation scores against (never shown to a ranker). Two sources:

- Recorded: the real metadata of tests/data/arxiv_corpus.json (20 papers of late May 2025, mostly LLM reasoning) and
  tests/data/arxiv-api-recorded-entries.json (the arXiv API's answers for "testing" and a few ids: software testing,
  statistics, physics). Their topic is "llm-reasoning" for those whose title is about reasoning in language
  models, "software-testing" for the software engineering ones, else "recorded" (the rule in `recorded_topic`).
  Their dates are moved to the day they are dealt to.
- Generated: titles and abstracts from per-topic vocabularies (below) in the shapes arXiv abstracts take: the
  setting and its difficulty, what existing work lacks, the method, how it works, experiments on named benchmarks
  with a number, sometimes an analysis or a code link. Topics share an area's words on purpose: every LLM topic
  says "large language models", every speech topic "speech", and RL, reasoning, retrieval and benchmarks appear
  across topics, so that a channel's subscription words match many topics and its true interest is narrower.

Papers are dealt to two days ("today": the papers a channel reacts to, and "tomorrow": the next digest's
candidates), each day ~400 papers with each generated topic about equally present.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA = HERE.parent
SEED = 20260211
PER_TOPIC_PER_DAY = 25
DAYS = (dt.date(2026, 2, 10), dt.date(2026, 2, 11))  # today, tomorrow

AREAS = {
    "llm": {
        "category": ("cs.CL", "cs.LG", "cs.AI"),
        "subject": ["large language models (LLMs)", "large language models", "LLMs", "language models"],
    },
    "speech": {
        "category": ("eess.AS", "cs.SD", "cs.CL"),
        "subject": ["speech processing systems", "speech models", "spoken language technology"],
    },
    "vision": {"category": ("cs.CV", "cs.LG"), "subject": ["vision models", "computer vision systems"]},
    "ml": {"category": ("cs.LG", "stat.ML"), "subject": ["machine learning models", "deep learning methods"]},
    "robotics": {"category": ("cs.RO", "cs.LG"), "subject": ["robot learning", "embodied agents"]},
    "se": {"category": ("cs.SE", "cs.PL"), "subject": ["software engineering tools", "developer tools"]},
}

# Per topic: tasks, what is hard, what existing work lacks, methods (a kind of technique), how it works, details,
# benchmarks, metrics, baselines, and title nouns.
TOPICS: dict[str, dict[str, Any]] = {
    "llm-reasoning": {
        "area": "llm",
        "tasks": [
            "mathematical reasoning",
            "multi-step reasoning",
            "chain-of-thought reasoning",
            "competition math problem solving",
            "long-horizon reasoning",
            "logical reasoning",
        ],
        "hard": [
            "rewards are sparse and only verifiable at the final answer",
            "long chains of thought are costly and often redundant",
            "models overthink easy problems and underthink hard ones",
            "policy optimization collapses when rollouts are all correct or all wrong",
        ],
        "lack": [
            "rely on expensive process supervision",
            "optimize only outcome rewards",
            "ignore the structure of the reasoning trace",
            "require distillation from a stronger teacher",
        ],
        "methods": [
            "a reinforcement learning framework with verifiable rewards",
            "a group relative policy optimization variant",
            "a process reward model",
            "a test-time scaling strategy",
            "a self-verification training recipe",
            "an adaptive chain-of-thought length controller",
        ],
        "how": [
            "assigns step-level credit from the final answer",
            "samples groups of rollouts and normalizes their rewards",
            "penalizes redundant reasoning steps",
            "verifies intermediate steps before committing to an answer",
            "allocates more thinking tokens to harder problems",
            "filters prompts whose rollouts carry no learning signal",
        ],
        "details": [
            "a curriculum over problem difficulty",
            "a length-aware reward",
            "a KL-free objective",
            "on-policy rollouts with asymmetric clipping",
            "reward shaping from reasoning patterns",
        ],
        "benchmarks": ["GSM8K", "MATH-500", "AIME 2024", "AMC23", "OlympiadBench", "Minerva Math"],
        "metrics": ["pass@1 accuracy", "accuracy", "average accuracy"],
        "baselines": ["GRPO", "PPO", "DeepSeek-R1-Distill", "supervised fine-tuning"],
        "nouns": ["Reasoning", "Rewards", "Thinking", "Chain-of-Thought", "Policy Optimization", "RL"],
    },
    "llm-safety": {
        "area": "llm",
        "tasks": [
            "jailbreak defense",
            "red teaming",
            "safety alignment",
            "refusal calibration",
            "harmful content detection",
            "preference alignment",
        ],
        "hard": [
            "adversarial prompts transfer across models",
            "safety training makes models over-refuse benign requests",
            "harmful behaviors reappear after fine-tuning",
            "human preference data is noisy and costly",
        ],
        "lack": [
            "evaluate only single-turn attacks",
            "trade helpfulness for harmlessness",
            "depend on static blocklists",
            "assume a fixed threat model",
        ],
        "methods": [
            "an automated red-teaming agent",
            "a direct preference optimization variant",
            "a guardrail classifier",
            "a representation-level safety intervention",
            "a constitutional self-critique procedure",
        ],
        "how": [
            "generates diverse multi-turn jailbreak attempts",
            "steers hidden activations away from harmful directions",
            "learns from pairwise preferences without a reward model",
            "detects unsafe completions before they are returned",
            "rewrites unsafe responses using written principles",
        ],
        "details": [
            "a taxonomy of harms",
            "adversarial training on discovered attacks",
            "RLHF with a safety reward",
            "a refusal-aware loss",
        ],
        "benchmarks": ["HarmBench", "AdvBench", "XSTest", "JailbreakBench", "TruthfulQA"],
        "metrics": ["attack success rate", "refusal rate", "harmlessness score"],
        "baselines": ["RLHF", "DPO", "Llama Guard", "safety fine-tuning"],
        "nouns": ["Jailbreaks", "Safety", "Alignment", "Red Teaming", "Guardrails", "Refusal"],
    },
    "llm-efficiency": {
        "area": "llm",
        "tasks": [
            "efficient inference",
            "long-context serving",
            "model compression",
            "KV cache compression",
            "low-bit quantization",
            "parameter-efficient fine-tuning",
        ],
        "hard": [
            "the KV cache grows linearly with context length",
            "decoding is memory-bound",
            "outlier activations break low-bit quantization",
            "serving costs dominate deployment budgets",
        ],
        "lack": [
            "degrade accuracy at 4-bit precision",
            "need retraining",
            "ignore hardware constraints",
            "trade latency for throughput",
        ],
        "methods": [
            "a post-training quantization method",
            "a speculative decoding scheme",
            "a KV cache eviction policy",
            "a structured pruning approach",
            "a low-rank adapter design",
            "a sparse attention kernel",
        ],
        "how": [
            "rotates weights to remove activation outliers",
            "drafts several tokens and verifies them in parallel",
            "keeps only the attention heavy hitters in memory",
            "removes redundant attention heads",
            "shares low-rank updates across layers",
            "fuses attention and dequantization on the GPU",
        ],
        "details": [
            "mixed-precision calibration",
            "a learned token importance score",
            "tree-based drafting",
            "a custom CUDA kernel",
        ],
        "benchmarks": ["WikiText-2", "LongBench", "MMLU", "C4", "RULER"],
        "metrics": ["perplexity", "throughput", "end-to-end latency", "memory footprint"],
        "baselines": ["GPTQ", "AWQ", "LoRA", "vLLM", "FlashAttention"],
        "nouns": ["Quantization", "Inference", "KV Cache", "Decoding", "Compression", "Pruning"],
    },
    "llm-agents": {
        "area": "llm",
        "tasks": [
            "tool use",
            "web navigation",
            "multi-agent collaboration",
            "autonomous software engineering",
            "agentic planning",
            "function calling",
        ],
        "hard": [
            "errors compound over long trajectories",
            "environments give delayed feedback",
            "tool outputs are noisy and unstructured",
            "agents fail to recover from mistakes",
        ],
        "lack": [
            "hand-craft prompts for each environment",
            "evaluate in static settings",
            "ignore the cost of tool calls",
            "plan without memory of past episodes",
        ],
        "methods": [
            "an agent framework with reflective memory",
            "a multi-agent debate protocol",
            "a planner-executor architecture",
            "a tool-learning curriculum",
            "a trajectory-level training method",
        ],
        "how": [
            "stores lessons from failed episodes and retrieves them later",
            "lets specialized agents critique each other",
            "decomposes tasks into verifiable subgoals",
            "synthesizes tool-use trajectories for training",
            "learns from environment feedback with reinforcement learning",
        ],
        "details": [
            "a browser sandbox",
            "a shared scratchpad",
            "execution feedback from unit tests",
            "an API registry",
        ],
        "benchmarks": ["WebArena", "SWE-bench", "ToolBench", "AgentBench", "GAIA"],
        "metrics": ["task success rate", "resolved rate", "success rate"],
        "baselines": ["ReAct", "Reflexion", "AutoGPT", "single-agent prompting"],
        "nouns": ["Agents", "Tool Use", "Planning", "Web Agents", "Multi-Agent Systems", "Autonomy"],
    },
    "llm-multilingual": {
        "area": "llm",
        "tasks": [
            "machine translation",
            "cross-lingual transfer",
            "low-resource language modeling",
            "multilingual question answering",
            "code-switching",
        ],
        "hard": [
            "most languages have little training data",
            "tokenizers fragment non-Latin scripts",
            "evaluation data is translated from English",
            "dialects differ from the standard language",
        ],
        "lack": ["focus on high-resource languages", "rely on English pivots", "ignore cultural context"],
        "methods": [
            "a multilingual instruction-tuning dataset",
            "a vocabulary adaptation method",
            "a cross-lingual alignment objective",
            "a translation data augmentation pipeline",
        ],
        "how": [
            "extends the tokenizer with language-specific pieces",
            "aligns representations of parallel sentences",
            "back-translates monolingual text",
            "collects instructions written by native speakers",
        ],
        "details": ["human evaluation by native speakers", "a dialect identification step", "parallel corpora mining"],
        "benchmarks": ["FLORES-200", "XNLI", "TyDi QA", "Belebele", "WMT23"],
        "metrics": ["BLEU", "chrF++", "COMET", "accuracy"],
        "baselines": ["NLLB", "mT5", "BLOOMZ", "English-only fine-tuning"],
        "nouns": ["Translation", "Multilingual", "Low-Resource Languages", "Cross-Lingual", "Dialects"],
    },
    "llm-rag": {
        "area": "llm",
        "tasks": [
            "retrieval-augmented generation",
            "open-domain question answering",
            "hallucination mitigation",
            "fact verification",
            "knowledge-intensive generation",
        ],
        "hard": [
            "retrieved passages are often irrelevant or conflicting",
            "models hallucinate unsupported facts",
            "knowledge changes after training",
            "long retrieved contexts dilute attention",
        ],
        "lack": ["retrieve once before generation", "ignore the reliability of sources", "cannot cite evidence"],
        "methods": [
            "an adaptive retrieval strategy",
            "a dense retriever",
            "a citation-aware generator",
            "a knowledge graph augmented pipeline",
            "a reranking module",
        ],
        "how": [
            "decides when to retrieve during generation",
            "compresses retrieved documents into evidence",
            "grounds each sentence in a cited passage",
            "traverses entity links to gather multi-hop evidence",
        ],
        "details": ["contrastive retriever training", "a faithfulness critic", "query rewriting"],
        "benchmarks": ["Natural Questions", "HotpotQA", "TriviaQA", "FEVER", "MS MARCO"],
        "metrics": ["exact match", "F1", "citation precision", "recall@10"],
        "baselines": ["standard RAG", "BM25", "DPR", "Self-RAG"],
        "nouns": ["Retrieval", "RAG", "Hallucination", "Grounding", "Question Answering"],
    },
    "speech-enhancement": {
        "area": "speech",
        "tasks": [
            "speech enhancement",
            "noise suppression",
            "speech separation",
            "dereverberation",
            "audio-visual speech enhancement",
            "target speaker extraction",
        ],
        "hard": [
            "non-stationary noise overlaps speech in time and frequency",
            "low signal-to-noise ratios destroy phonetic cues",
            "real-time hearing devices allow only a few milliseconds of latency",
            "reverberant rooms smear speech",
        ],
        "lack": [
            "enhance magnitude but ignore phase",
            "are too large for hearing aids",
            "are trained only on simulated noise",
        ],
        "methods": [
            "a complex spectral mapping network",
            "a causal time-frequency transformer",
            "a lightweight denoising model",
            "a diffusion-based enhancement model",
            "an audio-visual fusion network",
            "a mask estimation network",
        ],
        "how": [
            "estimates complex ratio masks",
            "fuses lip movements with noisy audio",
            "refines phase with a second stage",
            "runs frame by frame with a look-ahead of a few milliseconds",
            "separates overlapping talkers",
        ],
        "details": ["a perceptual loss", "a speaker embedding", "knowledge distillation to a tiny student"],
        "benchmarks": ["VoiceBank+DEMAND", "DNS Challenge", "WSJ0-2mix", "LibriMix", "CHiME-4"],
        "metrics": ["PESQ", "STOI", "SI-SDR", "DNSMOS"],
        "baselines": ["Conv-TasNet", "DCCRN", "MetricGAN+", "Demucs"],
        "nouns": ["Speech Enhancement", "Denoising", "Separation", "Noise Suppression", "Dereverberation"],
    },
    "speech-tts": {
        "area": "speech",
        "tasks": [
            "text-to-speech synthesis",
            "zero-shot voice cloning",
            "expressive speech synthesis",
            "neural vocoding",
            "speech language modeling",
        ],
        "hard": [
            "prosody is hard to control",
            "unseen speakers are hard to imitate from a short prompt",
            "autoregressive decoding is slow",
            "synthetic speech can sound monotonous",
        ],
        "lack": ["need transcribed data for every speaker", "entangle content and style", "synthesize slowly"],
        "methods": [
            "a flow-matching speech generator",
            "a neural codec language model",
            "a non-autoregressive TTS model",
            "a GAN-based vocoder",
            "a prosody control module",
        ],
        "how": [
            "predicts discrete codec tokens from text",
            "conditions on a three-second speaker prompt",
            "generates mel spectrograms in a few sampling steps",
            "disentangles style and content",
        ],
        "details": ["a duration predictor", "classifier-free guidance", "a multi-scale discriminator"],
        "benchmarks": ["LibriTTS", "VCTK", "LJSpeech", "Seed-TTS eval"],
        "metrics": ["MOS", "speaker similarity", "word error rate", "real-time factor"],
        "baselines": ["VALL-E", "VITS", "HiFi-GAN", "FastSpeech 2"],
        "nouns": ["Speech Synthesis", "TTS", "Voice Cloning", "Vocoder", "Prosody"],
    },
    "speech-asr": {
        "area": "speech",
        "tasks": [
            "automatic speech recognition",
            "streaming speech recognition",
            "speech translation",
            "keyword spotting",
            "accented speech recognition",
        ],
        "hard": [
            "accents and spontaneous speech raise error rates",
            "streaming requires low latency",
            "labeled speech is scarce for most languages",
        ],
        "lack": ["require full-utterance context", "depend on large labeled corpora", "degrade on accented speech"],
        "methods": [
            "a conformer-based recognizer",
            "a self-supervised speech encoder",
            "a CTC-attention hybrid model",
            "a speech-to-text adapter for LLMs",
        ],
        "how": [
            "learns from unlabeled audio with masked prediction",
            "emits tokens with a limited look-ahead",
            "connects a speech encoder to a frozen language model",
            "adapts to new accents with few utterances",
        ],
        "details": ["SpecAugment", "a language model rescoring pass", "pseudo-labeling"],
        "benchmarks": ["LibriSpeech", "Common Voice", "TED-LIUM 3", "FLEURS", "Switchboard"],
        "metrics": ["word error rate", "character error rate", "latency"],
        "baselines": ["Whisper", "wav2vec 2.0", "HuBERT", "Conformer"],
        "nouns": ["Speech Recognition", "ASR", "Streaming", "Transcription", "Accents"],
    },
    "vision-detection": {
        "area": "vision",
        "tasks": [
            "object detection",
            "instance segmentation",
            "open-vocabulary detection",
            "semantic segmentation",
            "3D object detection",
            "panoptic segmentation",
        ],
        "hard": [
            "small objects are easily missed",
            "annotation of masks is expensive",
            "novel categories appear at test time",
        ],
        "lack": ["need dense annotations", "fail on unseen categories", "are too slow for real-time use"],
        "methods": [
            "a query-based detector",
            "a promptable segmentation model",
            "a vision-language detector",
            "a point cloud backbone",
        ],
        "how": [
            "matches region features to text embeddings",
            "refines object queries layer by layer",
            "propagates masks from a few clicks",
            "fuses lidar and camera features in bird's-eye view",
        ],
        "details": ["deformable attention", "pseudo-labels from a teacher", "multi-scale features"],
        "benchmarks": ["COCO", "LVIS", "ADE20K", "nuScenes", "Cityscapes"],
        "metrics": ["mAP", "mIoU", "AP50", "NDS"],
        "baselines": ["DETR", "Mask R-CNN", "SAM", "YOLOv8"],
        "nouns": ["Detection", "Segmentation", "Open-Vocabulary", "Object Queries", "3D Perception"],
    },
    "vision-diffusion": {
        "area": "vision",
        "tasks": [
            "text-to-image generation",
            "image editing",
            "video generation",
            "controllable image synthesis",
            "personalized generation",
        ],
        "hard": [
            "sampling requires many denoising steps",
            "prompts with several objects are rendered wrongly",
            "edits change unrelated regions",
            "temporal consistency is hard to keep in video",
        ],
        "lack": ["need per-concept fine-tuning", "ignore spatial layout", "sample slowly"],
        "methods": [
            "a latent diffusion model",
            "a consistency distillation method",
            "a training-free editing technique",
            "a layout-conditioned diffusion model",
            "a video diffusion transformer",
        ],
        "how": [
            "manipulates cross-attention maps",
            "distills the sampler into a few steps",
            "conditions on bounding boxes",
            "shares attention across frames",
        ],
        "details": ["classifier-free guidance", "a reward fine-tuning stage", "an image encoder adapter"],
        "benchmarks": ["MS-COCO captions", "GenEval", "DrawBench", "UCF-101", "T2I-CompBench"],
        "metrics": ["FID", "CLIP score", "human preference rate", "FVD"],
        "baselines": ["Stable Diffusion XL", "DALL-E 3", "ControlNet", "Imagen"],
        "nouns": ["Diffusion", "Image Generation", "Editing", "Video Generation", "Text-to-Image"],
    },
    "graph-learning": {
        "area": "ml",
        "tasks": [
            "node classification",
            "graph representation learning",
            "link prediction",
            "molecular property prediction",
            "heterophilous graph learning",
            "graph transformers",
        ],
        "hard": [
            "message passing over-smooths node features",
            "graphs with heterophily break homophily assumptions",
            "large graphs do not fit in GPU memory",
            "long-range dependencies are hard to capture",
        ],
        "lack": ["assume homophily", "scale quadratically with the number of nodes", "ignore edge features"],
        "methods": [
            "a graph neural network",
            "a graph transformer",
            "a spectral graph filter",
            "a graph contrastive learning method",
            "a scalable message-passing scheme",
        ],
        "how": [
            "adapts its filters to heterophily",
            "encodes positional information with Laplacian eigenvectors",
            "samples subgraphs for mini-batch training",
            "contrasts augmented views of each graph",
        ],
        "details": ["a rewiring step", "virtual nodes", "a learnable aggregation function"],
        "benchmarks": ["OGB-Arxiv", "Cora", "PubMed", "ZINC", "OGB-Products"],
        "metrics": ["accuracy", "ROC-AUC", "MAE"],
        "baselines": ["GCN", "GAT", "GraphSAGE", "GPS"],
        "nouns": ["Graph Neural Networks", "Graphs", "Message Passing", "Graph Transformers", "Node Classification"],
    },
    "robot-manipulation": {
        "area": "robotics",
        "tasks": [
            "robotic manipulation",
            "dexterous grasping",
            "imitation learning",
            "sim-to-real transfer",
            "vision-language-action control",
        ],
        "hard": [
            "demonstrations are expensive to collect",
            "policies trained in simulation fail on real robots",
            "contact-rich tasks need precise control",
        ],
        "lack": ["need thousands of demonstrations", "ignore tactile feedback", "fail under distribution shift"],
        "methods": [
            "a diffusion policy",
            "a vision-language-action model",
            "a reinforcement learning fine-tuning method",
            "a teleoperation system",
        ],
        "how": [
            "predicts action chunks from camera images",
            "fine-tunes a pretrained policy with reinforcement learning",
            "randomizes physics during simulation training",
            "follows natural-language instructions",
        ],
        "details": ["tactile sensing", "a world model", "reward learning from videos"],
        "benchmarks": ["RLBench", "LIBERO", "Meta-World", "real-world pick-and-place tasks"],
        "metrics": ["success rate", "completion time"],
        "baselines": ["behavior cloning", "RT-2", "Diffusion Policy", "OpenVLA"],
        "nouns": ["Manipulation", "Robot Learning", "Grasping", "Policies", "Sim-to-Real"],
    },
    "se-program-repair": {
        "area": "se",
        "tasks": [
            "automated program repair",
            "code generation",
            "vulnerability detection",
            "code review",
            "unit test generation",
        ],
        "hard": [
            "bugs span several files",
            "generated code compiles but is wrong",
            "vulnerabilities are rare in training data",
        ],
        "lack": ["repair single-line bugs only", "lack executable feedback", "ignore project context"],
        "methods": [
            "an LLM-based repair agent",
            "a code language model",
            "a static analysis guided generator",
            "a retrieval-augmented code assistant",
        ],
        "how": [
            "localizes faults with test failures",
            "retrieves similar fixes from the project history",
            "checks candidate patches against static analyzers",
            "generates tests to validate patches",
        ],
        "details": ["execution traces", "a patch ranking model", "repository-level context"],
        "benchmarks": ["Defects4J", "HumanEval", "SWE-bench Lite", "BigVul", "MBPP"],
        "metrics": ["pass@1", "correct patches", "F1"],
        "baselines": ["Codex", "CodeLlama", "GPT-4", "SequenceR"],
        "nouns": ["Program Repair", "Code Generation", "Vulnerabilities", "Code Review", "Bugs"],
    },
}

TITLE_SHAPES = [
    "{Name}: {Adj} {noun} for {Task}",
    "{Adj} {Task} via {Method}",
    "Towards {Adj} {Task} with {Method}",
    "{Name}: {Method} for {Task}",
    "Rethinking {noun} in {Task}",
    "When {noun} Meets {noun2}: {Adj} {Task}",
    "On the {Property} of {noun} for {Task}",
    "{Name}: Scaling {noun} for {Task}",
    "Learning {Adj} {noun} for {Task}",
    "{Task} with {Method}: A Study of {noun}",
]
ADJECTIVES = ["Efficient", "Robust", "Scalable", "Adaptive", "Unified", "Lightweight", "Generalizable",
              "Reliable", "Data-Efficient", "Fine-Grained", "Self-Improving", "Simple"]  # fmt: skip
PROPERTIES = ["Limits", "Robustness", "Role", "Generalization", "Scaling Behavior", "Failure Modes"]
SYLLABLES = ["ver", "lo", "ra", "tri", "na", "quo", "zen", "ka", "mi", "sol", "ar", "vi", "dex", "pho", "ne", "lu"]
NAMES_FIRST = ["Wei", "Anna", "Rahul", "Sofia", "Kenji", "Lukas", "Mei", "Omar", "Priya", "Jonas", "Elena", "Yuki",
               "Carlos", "Fatima", "Daniel", "Hana", "Ivan", "Chloe", "Arjun", "Lea"]  # fmt: skip
NAMES_LAST = ["Zhang", "Müller", "Gupta", "Rossi", "Tanaka", "Schmidt", "Chen", "Haddad", "Patel", "Berg", "Ivanova",
              "Sato", "García", "Khan", "Kim", "Novak", "Dubois", "Singh", "Wang", "Li", "Okafor", "Silva"]  # fmt: skip
OPENINGS = ["{Task} is central to {subject}, yet {hard}.", "Recent {subject} have advanced {task}, but {hard}.",
            "{Task} remains challenging because {hard}.", "Despite rapid progress in {task}, {hard}."]  # fmt: skip
ANALYSES = ["We further analyze when {name} helps and when it does not.",
            "Ablations show that each component contributes to the gains.",
            "Our analysis reveals that {detail} is the key ingredient.",
            "We also release a benchmark split to support future work on {task}."]  # fmt: skip


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def title_case(text: str) -> str:
    small = {"a", "an", "and", "for", "of", "in", "on", "with", "the", "to", "via", "from"}
    words = text.split()
    return " ".join(w if (i and w in small) or w[:1].isupper() else cap(w) for i, w in enumerate(words))


def method_name(rng: random.Random) -> str:
    name = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3)))
    return name.upper() if len(name) <= 5 and rng.random() < 0.5 else cap(name)


def generated_paper(rng: random.Random, topic: str) -> dict[str, object]:
    t = TOPICS[topic]
    area = AREAS[str(t["area"])]

    def pick(key: str) -> str:
        return str(rng.choice(t[key]))

    name = method_name(rng)
    task, method, noun = pick("tasks"), pick("methods"), pick("nouns")
    noun2 = rng.choice([n for n in t["nouns"] if n != noun])
    title = rng.choice(TITLE_SHAPES).format(
        Name=name, Adj=rng.choice(ADJECTIVES), noun=noun, noun2=noun2, Task=title_case(task),
        Method=title_case(method.split(" ", 1)[1]), Property=rng.choice(PROPERTIES),
    )  # fmt: skip
    benchmarks = rng.sample(t["benchmarks"], k=min(3, len(t["benchmarks"])))
    gain = f"{rng.uniform(0.8, 12.0):.1f}"
    sentences = [
        rng.choice(OPENINGS).format(Task=cap(task), task=task, subject=rng.choice(area["subject"]), hard=pick("hard")),
        f"Existing approaches {pick('lack')}.",
        f"In this paper, we propose {name}, {method} that {pick('how')}.",
        f"{name} combines {pick('details')} with {pick('details')}.",
        f"Experiments on {', '.join(benchmarks[:-1])} and {benchmarks[-1]} show that {name} improves "
        f"{pick('metrics')} by {gain}% over {pick('baselines')}.",
    ]
    if rng.random() < 0.6:
        sentences.append(rng.choice(ANALYSES).format(name=name, detail=pick("details"), task=task))
    if rng.random() < 0.3:
        sentences.append("Code and models are publicly available.")
    authors = [f"{rng.choice(NAMES_FIRST)} {rng.choice(NAMES_LAST)}" for _ in range(rng.randint(2, 6))]
    categories = list(dict.fromkeys(rng.sample(area["category"], k=rng.randint(1, len(area["category"])))))
    return {"title": title, "authors": authors, "abstract": " ".join(sentences), "categories": categories}


def recorded_topic(title: str, abstract: str, primary_category: str) -> str:
    """A recorded paper's topic: "llm-reasoning" when its title is about reasoning and its text about language
    models; "software-testing" for the software engineering papers the API gave for "testing" (cs.SE); else
    "recorded" (statistics' hypothesis tests, group testing, physics: no channel's interest)."""
    about_models = any(w in f"{title} {abstract}".lower() for w in ("language model", "llm", "reasoning model"))
    if "reason" in title.lower() and about_models:
        return "llm-reasoning"
    return "software-testing" if primary_category == "cs.SE" else "recorded"


def recorded_papers() -> list[dict[str, object]]:
    papers = []
    for p in json.loads((DATA / "arxiv_corpus.json").read_text(encoding="utf-8")):
        papers.append({"id": p["id"], "title": p["title"], "authors": p["authors"][:6], "abstract": p["abstract"],
                       "categories": p["categories"]})  # fmt: skip
    entries: dict[str, dict[str, Any]] = {}

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "entry_id" in node:
                entries.setdefault(str(node["entry_id"]), node)
            else:
                for value in node.values():
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads((DATA / "arxiv-api-recorded-entries.json").read_text(encoding="utf-8"))["fixtures"])
    for entry_id, e in entries.items():
        title = " ".join(str(e["title"]).split())
        if len(title) < 10:  # a recorded malformed entry ("0")
            continue
        arxiv_id = entry_id.rsplit("/abs/", 1)[1].rsplit("v", 1)[0]
        primary = str(e["primary_category"])  # the paper's own category first, as Paper.primary_category
        papers.append({"id": arxiv_id, "title": title, "authors": list(e["authors"])[:6],
                       "abstract": " ".join(str(e["summary"]).split()),
                       "categories": [primary, *(c for c in e["categories"] if c != primary)]})  # fmt: skip
    for p in papers:
        p["topic"] = recorded_topic(str(p["title"]), str(p["abstract"]), str(p["categories"][0]))
        p["source"] = "recorded"
    return papers


def build() -> dict[str, object]:
    rng = random.Random(SEED)
    recorded = recorded_papers()
    rng.shuffle(recorded)
    days: list[list[dict[str, object]]] = [[], []]
    for index, paper in enumerate(recorded):
        days[index % 2].append(paper)
    serial = 0
    for day in days:
        for topic in TOPICS:
            for _ in range(PER_TOPIC_PER_DAY):
                serial += 1
                day.append({"id": f"2602.{serial:05d}", **generated_paper(rng, topic), "topic": topic,
                            "source": "generated"})  # fmt: skip
    papers = []
    for date, day in zip(DAYS, days, strict=True):
        rng.shuffle(day)
        for paper in day:
            at = dt.datetime.combine(date, dt.time(0), tzinfo=dt.UTC) + dt.timedelta(seconds=rng.randrange(86_400))
            papers.append({**paper, "day": date.isoformat(), "published": at.isoformat()})
    return {
        "about": f"Two days of arXiv-like candidates for benchmarks/taste_eval.py, written by generate.py beside this "
        f"file (seed {SEED}): recorded arXiv metadata (tests/data/arxiv_corpus.json, arxiv-api-recorded-entries.json; "
        f"dates moved) and generated papers over {len(TOPICS)} topics. `topic` is the truth the evaluation scores "
        "against.",
        "days": [d.isoformat() for d in DAYS],
        "papers": papers,
    }


if __name__ == "__main__":
    out = HERE / "corpus.json"
    out.write_text(json.dumps(build(), ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    print(f"wrote {out} ({out.stat().st_size // 1024} KB)")
