"""Each printable ASCII character's look-alikes (single characters), as devloop.judging.rendered derives them.

Written by scripts/gen-lookalikes from Unicode's confusables (confusable_homoglyphs 3.3.1, unicodedata 14.0.0); do not
edit. tests/test_lookalikes.py checks it against the installed data.
"""

SOURCE = "confusable_homoglyphs 3.3.1, unicodedata 14.0.0"
ALIKES: dict[str, str] = {
    "0": ("O"),
    "1": ("l"),
    "2": ("\u01a7\u03e8\u14bf\ua644\ua6ef\ua75a\U0001d7d0\U0001d7da\U0001d7e4\U0001d7ee\U0001d7f8\U0001fbf2"),
    "3": (
        "\u01b7\u021c\u0417\u04e0\u2ccc\ua76a\ua7ab\U000118ca"
        "\U00016f3b\U0001d206\U0001d7d1\U0001d7db\U0001d7e5\U0001d7ef\U0001d7f9\U0001fbf3"
    ),
    "4": ("\u13ce\U000118af\U0001d7d2\U0001d7dc\U0001d7e6\U0001d7f0\U0001d7fa\U0001fbf4"),
    "5": ("\u01bc\U000118bb\U0001d7d3\U0001d7dd\U0001d7e7\U0001d7f1\U0001d7fb\U0001fbf5"),
    "6": ("\u0431\u13ee\u2cd2\U000118d5\U0001d7d4\U0001d7de\U0001d7e8\U0001d7f2\U0001d7fc\U0001fbf6"),
    "7": ("\U000104d2\U000118c6\U0001d212\U0001d7d5\U0001d7df\U0001d7e9\U0001d7f3\U0001d7fd\U0001fbf7"),
    "8": (
        "\u0222\u0223\u09ea\u0a6a\u0b03\U0001031a\U0001d7d6\U0001d7e0\U0001d7ea\U0001d7f4\U0001d7fe\U0001e8cb\U0001fbf8"
    ),
    "9": (
        "\u09ed\u0a67\u0b68\u0d6d\u2cca\ua76e\U000118ac\U000118cc"
        "\U000118d6\U0001d7d7\U0001d7e1\U0001d7eb\U0001d7f5\U0001d7ff\U0001fbf9"
    ),
    "a": (
        "\u0251\u03b1\u0430\u237a\uff41\U0001d41a\U0001d44e\U0001d482"
        "\U0001d4b6\U0001d4ea\U0001d51e\U0001d552\U0001d586\U0001d5ba\U0001d5ee\U0001d622"
        "\U0001d656\U0001d68a\U0001d6c2\U0001d6fc\U0001d736\U0001d770\U0001d7aa"
    ),
    "b": (
        "\u0184\u042c\u13cf\u1472\u15af\U0001d41b\U0001d44f\U0001d483"
        "\U0001d4b7\U0001d4eb\U0001d51f\U0001d553\U0001d587\U0001d5bb\U0001d5ef\U0001d623"
        "\U0001d657\U0001d68b"
    ),
    "c": (
        "\u03f2\u0441\u1d04\u217d\u2ca5\uabaf\uff43\U0001043d"
        "\U0001d41c\U0001d450\U0001d484\U0001d4b8\U0001d4ec\U0001d520\U0001d554\U0001d588"
        "\U0001d5bc\U0001d5f0\U0001d624\U0001d658\U0001d68c"
    ),
    "d": (
        "\u0501\u13e7\u146f\u2146\u217e\ua4d2\U0001d41d\U0001d451"
        "\U0001d485\U0001d4b9\U0001d4ed\U0001d521\U0001d555\U0001d589\U0001d5bd\U0001d5f1"
        "\U0001d625\U0001d659\U0001d68d"
    ),
    "e": (
        "\u0435\u04bd\u212e\u212f\u2147\uab32\uff45\U0001d41e"
        "\U0001d452\U0001d486\U0001d4ee\U0001d522\U0001d556\U0001d58a\U0001d5be\U0001d5f2"
        "\U0001d626\U0001d65a\U0001d68e"
    ),
    "f": (
        "\u017f\u0584\u1e9d\ua799\uab35\U0001d41f\U0001d453\U0001d487"
        "\U0001d4bb\U0001d4ef\U0001d523\U0001d557\U0001d58b\U0001d5bf\U0001d5f3\U0001d627"
        "\U0001d65b\U0001d68f"
    ),
    "g": (
        "\u018d\u0261\u0581\u1d83\u210a\uff47\U0001d420\U0001d454"
        "\U0001d488\U0001d4f0\U0001d524\U0001d558\U0001d58c\U0001d5c0\U0001d5f4\U0001d628"
        "\U0001d65c\U0001d690"
    ),
    "h": (
        "\u04bb\u0570\u13c2\u210e\uff48\U0001d421\U0001d489\U0001d4bd"
        "\U0001d4f1\U0001d525\U0001d559\U0001d58d\U0001d5c1\U0001d5f5\U0001d629\U0001d65d"
        "\U0001d691"
    ),
    "i": (
        "\u0131\u0269\u026a\u02db\u037a\u03b9\u0456\u04cf"
        "\u13a5\u1fbe\u2139\u2148\u2170\u2373\ua647\uab75"
        "\uff49\U000118c3\U0001d422\U0001d456\U0001d48a\U0001d4be\U0001d4f2\U0001d526"
        "\U0001d55a\U0001d58e\U0001d5c2\U0001d5f6\U0001d62a\U0001d65e\U0001d692\U0001d6a4"
        "\U0001d6ca\U0001d704\U0001d73e\U0001d778\U0001d7b2"
    ),
    "j": (
        "\u03f3\u0458\u2149\uff4a\U0001d423\U0001d457\U0001d48b\U0001d4bf"
        "\U0001d4f3\U0001d527\U0001d55b\U0001d58f\U0001d5c3\U0001d5f7\U0001d62b\U0001d65f"
        "\U0001d693"
    ),
    "k": (
        "\U0001d424\U0001d458\U0001d48c\U0001d4c0\U0001d4f4\U0001d528\U0001d55c\U0001d590"
        "\U0001d5c4\U0001d5f8\U0001d62c\U0001d660\U0001d694"
    ),
    "l": (
        "1I|\u0196\u01c0\u0399\u0406\u04c0"
        "\u05c0\u05d5\u05df\u0627\u0661\u06f1\u07ca\u16c1"
        "\u2110\u2111\u2113\u2160\u217c\u2223\u23fd\u2c92"
        "\u2d4f\ua4f2\ufe8d\ufe8e\uff29\uff4c\uffe8\U0001028a"
        "\U00010309\U00010320\U00016f28\U0001d408\U0001d425\U0001d43c\U0001d459\U0001d470"
        "\U0001d48d\U0001d4c1\U0001d4d8\U0001d4f5\U0001d529\U0001d540\U0001d55d\U0001d574"
        "\U0001d591\U0001d5a8\U0001d5c5\U0001d5dc\U0001d5f9\U0001d610\U0001d62d\U0001d644"
        "\U0001d661\U0001d678\U0001d695\U0001d6b0\U0001d6ea\U0001d724\U0001d75e\U0001d798"
        "\U0001d7cf\U0001d7d9\U0001d7e3\U0001d7ed\U0001d7f7\U0001e8c7\U0001ee00\U0001ee80"
        "\U0001fbf1"
    ),
    "n": (
        "\u0578\u057c\U0001d427\U0001d45b\U0001d48f\U0001d4c3\U0001d4f7\U0001d52b"
        "\U0001d55f\U0001d593\U0001d5c7\U0001d5fb\U0001d62f\U0001d663\U0001d697"
    ),
    "o": (
        "\u03bf\u03c3\u043e\u0585\u05e1\u0647\u0665\u06be"
        "\u06c1\u06d5\u06f5\u0966\u0a66\u0ae6\u0be6\u0c02"
        "\u0c66\u0c82\u0ce6\u0d02\u0d20\u0d66\u0d82\u0e50"
        "\u0ed0\u101d\u1040\u10ff\u1d0f\u1d11\u2134\u2c9f"
        "\uab3d\ufba6\ufba7\ufba8\ufba9\ufbaa\ufbab\ufbac"
        "\ufbad\ufee9\ufeea\ufeeb\ufeec\uff4f\U0001042c\U000104ea"
        "\U000118c8\U000118d7\U0001d428\U0001d45c\U0001d490\U0001d4f8\U0001d52c\U0001d560"
        "\U0001d594\U0001d5c8\U0001d5fc\U0001d630\U0001d664\U0001d698\U0001d6d0\U0001d6d4"
        "\U0001d70a\U0001d70e\U0001d744\U0001d748\U0001d77e\U0001d782\U0001d7b8\U0001d7bc"
        "\U0001ee24\U0001ee64\U0001ee84"
    ),
    "p": (
        "\u03c1\u03f1\u0440\u2374\u2ca3\uff50\U0001d429\U0001d45d"
        "\U0001d491\U0001d4c5\U0001d4f9\U0001d52d\U0001d561\U0001d595\U0001d5c9\U0001d5fd"
        "\U0001d631\U0001d665\U0001d699\U0001d6d2\U0001d6e0\U0001d70c\U0001d71a\U0001d746"
        "\U0001d754\U0001d780\U0001d78e\U0001d7ba\U0001d7c8"
    ),
    "q": (
        "\u051b\u0563\u0566\U0001d42a\U0001d45e\U0001d492\U0001d4c6\U0001d4fa"
        "\U0001d52e\U0001d562\U0001d596\U0001d5ca\U0001d5fe\U0001d632\U0001d666\U0001d69a"
    ),
    "r": (
        "\u0433\u1d26\u2c85\uab47\uab48\uab81\U0001d42b\U0001d45f"
        "\U0001d493\U0001d4c7\U0001d4fb\U0001d52f\U0001d563\U0001d597\U0001d5cb\U0001d5ff"
        "\U0001d633\U0001d667\U0001d69b"
    ),
    "s": (
        "\u01bd\u0455\ua731\uabaa\uff53\U00010448\U000118c1\U0001d42c"
        "\U0001d460\U0001d494\U0001d4c8\U0001d4fc\U0001d530\U0001d564\U0001d598\U0001d5cc"
        "\U0001d600\U0001d634\U0001d668\U0001d69c"
    ),
    "t": (
        "\U0001d42d\U0001d461\U0001d495\U0001d4c9\U0001d4fd\U0001d531\U0001d565\U0001d599"
        "\U0001d5cd\U0001d601\U0001d635\U0001d669\U0001d69d"
    ),
    "u": (
        "\u028b\u03c5\u057d\u1d1c\ua79f\uab4e\uab52\U000104f6"
        "\U000118d8\U0001d42e\U0001d462\U0001d496\U0001d4ca\U0001d4fe\U0001d532\U0001d566"
        "\U0001d59a\U0001d5ce\U0001d602\U0001d636\U0001d66a\U0001d69e\U0001d6d6\U0001d710"
        "\U0001d74a\U0001d784\U0001d7be"
    ),
    "v": (
        "\u03bd\u0475\u05d8\u1d20\u2174\u2228\u22c1\uaba9"
        "\uff56\U00011706\U000118c0\U0001d42f\U0001d463\U0001d497\U0001d4cb\U0001d4ff"
        "\U0001d533\U0001d567\U0001d59b\U0001d5cf\U0001d603\U0001d637\U0001d66b\U0001d69f"
        "\U0001d6ce\U0001d708\U0001d742\U0001d77c\U0001d7b6"
    ),
    "w": (
        "\u026f\u0461\u051d\u0561\u1d21\uab83\U0001170a\U0001170e"
        "\U0001170f\U0001d430\U0001d464\U0001d498\U0001d4cc\U0001d500\U0001d534\U0001d568"
        "\U0001d59c\U0001d5d0\U0001d604\U0001d638\U0001d66c\U0001d6a0"
    ),
    "x": (
        "\xd7\u0445\u1541\u157d\u166e\u2179\u292b\u292c"
        "\u2a2f\uff58\U0001d431\U0001d465\U0001d499\U0001d4cd\U0001d501\U0001d535"
        "\U0001d569\U0001d59d\U0001d5d1\U0001d605\U0001d639\U0001d66d\U0001d6a1"
    ),
    "y": (
        "\u0263\u028f\u03b3\u0443\u04af\u10e7\u1d8c\u1eff"
        "\u213d\uab5a\uff59\U000118dc\U0001d432\U0001d466\U0001d49a\U0001d4ce"
        "\U0001d502\U0001d536\U0001d56a\U0001d59e\U0001d5d2\U0001d606\U0001d63a\U0001d66e"
        "\U0001d6a2\U0001d6c4\U0001d6fe\U0001d738\U0001d772\U0001d7ac"
    ),
    "z": (
        "\u1d22\uab93\U000118c4\U0001d433\U0001d467\U0001d49b\U0001d4cf\U0001d503"
        "\U0001d537\U0001d56b\U0001d59f\U0001d5d3\U0001d607\U0001d63b\U0001d66f\U0001d6a3"
    ),
    "A": (
        "\xc0\xc1\xc2\xc3\xc4\xc5\xe0\xe1"
        "\xe2\xe3\xe4\xe5\u0100\u0101\u0102\u0103"
        "\u0104\u0105\u01cd\u01ce\u01de\u01df\u01e0\u01e1"
        "\u01fa\u01fb\u0200\u0201\u0202\u0203\u0226\u0227"
        "\u023a\u0391\u0410\u13aa\u15c5\u1d00\u1d8f\u1e00"
        "\u1e01\u1e9a\u1ea0\u1ea1\u1ea2\u1ea3\u1ea4\u1ea5"
        "\u1ea6\u1ea7\u1ea8\u1ea9\u1eaa\u1eab\u1eac\u1ead"
        "\u1eae\u1eaf\u1eb0\u1eb1\u1eb2\u1eb3\u1eb4\u1eb5"
        "\u1eb6\u1eb7\ua4ee\uff21\U000102a0\U00016f40\U0001d400\U0001d434"
        "\U0001d468\U0001d49c\U0001d4d0\U0001d504\U0001d538\U0001d56c\U0001d5a0\U0001d5d4"
        "\U0001d608\U0001d63c\U0001d670\U0001d6a8\U0001d6e2\U0001d71c\U0001d756\U0001d790"
    ),
    "B": (
        "\u0180\u0181\u0182\u0183\u0243\u0253\u0299\u0392"
        "\u0412\u13f4\u15f7\u1d6c\u1d80\u1e02\u1e03\u1e04"
        "\u1e05\u1e06\u1e07\u212c\ua4d0\ua796\ua797\ua7b4"
        "\uff22\U00010282\U000102a1\U00010301\U0001d401\U0001d435\U0001d469\U0001d4d1"
        "\U0001d505\U0001d539\U0001d56d\U0001d5a1\U0001d5d5\U0001d609\U0001d63d\U0001d671"
        "\U0001d6a9\U0001d6e3\U0001d71d\U0001d757\U0001d791"
    ),
    "C": (
        "\xc7\xe7\u0106\u0107\u0108\u0109\u010a\u010b"
        "\u010c\u010d\u0187\u0188\u023b\u023c\u0255\u03f9"
        "\u0421\u13df\u1d04\u1e08\u1e09\u2102\u212d\u216d"
        "\u2ca4\ua4da\ua792\ua793\ua794\ua7c4\uff23\U000102a2"
        "\U00010302\U00010415\U0001051c\U000118e9\U000118f2\U0001d402\U0001d436\U0001d46a"
        "\U0001d49e\U0001d4d2\U0001d56e\U0001d5a2\U0001d5d6\U0001d60a\U0001d63e\U0001d672"
        "\U0001f74c"
    ),
    "D": (
        "\u010e\u010f\u0110\u0111\u018a\u018b\u018c\u01c5"
        "\u01f2\u0221\u0256\u0257\u13a0\u15de\u15ea\u1d05"
        "\u1d6d\u1d81\u1d91\u1e0a\u1e0b\u1e0c\u1e0d\u1e0e"
        "\u1e0f\u1e10\u1e11\u1e12\u1e13\u2145\u216e\ua4d3"
        "\ua7c7\ua7c8\U0001d403\U0001d437\U0001d46b\U0001d49f\U0001d4d3\U0001d507"
        "\U0001d53b\U0001d56f\U0001d5a3\U0001d5d7\U0001d60b\U0001d63f\U0001d673"
    ),
    "E": (
        "\xc8\xc9\xca\xcb\xe8\xe9\xea\xeb"
        "\u0112\u0113\u0114\u0115\u0116\u0117\u0118\u0119"
        "\u011a\u011b\u0204\u0205\u0206\u0207\u0228\u0229"
        "\u0246\u0247\u0395\u0415\u13ac\u1d07\u1d92\u1e14"
        "\u1e15\u1e16\u1e17\u1e18\u1e19\u1e1a\u1e1b\u1e1c"
        "\u1e1d\u1eb8\u1eb9\u1eba\u1ebb\u1ebc\u1ebd\u1ebe"
        "\u1ebf\u1ec0\u1ec1\u1ec2\u1ec3\u1ec4\u1ec5\u1ec6"
        "\u1ec7\u2130\u22ff\u2d39\ua4f0\uab34\uff25\U00010286"
        "\U000118a6\U000118ae\U0001d404\U0001d438\U0001d46c\U0001d4d4\U0001d508\U0001d53c"
        "\U0001d570\U0001d5a4\U0001d5d8\U0001d60c\U0001d640\U0001d674\U0001d6ac\U0001d6e6"
        "\U0001d720\U0001d75a\U0001d794"
    ),
    "F": (
        "\u0191\u0192\u03dc\u15b4\u1d6e\u1d82\u1e1e\u1e1f"
        "\u2131\ua4dd\ua730\ua798\ua799\U00010287\U000102a5\U00010525"
        "\U000118a2\U000118c2\U0001d213\U0001d405\U0001d439\U0001d46d\U0001d4d5\U0001d509"
        "\U0001d53d\U0001d571\U0001d5a5\U0001d5d9\U0001d60d\U0001d641\U0001d675\U0001d7ca"
    ),
    "G": (
        "\u011c\u011d\u011e\u011f\u0120\u0121\u0122\u0123"
        "\u0193\u01e4\u01e5\u01e6\u01e7\u01f4\u01f5\u0260"
        "\u0262\u029b\u050c\u13c0\u13f3\u1d83\u1e20\u1e21"
        "\ua4d6\ua7a0\ua7a1\U0001d406\U0001d43a\U0001d46e\U0001d4a2\U0001d4d6"
        "\U0001d50a\U0001d53e\U0001d572\U0001d5a6\U0001d5da\U0001d60e\U0001d642\U0001d676"
    ),
    "H": (
        "\u0124\u0125\u0126\u0127\u021e\u021f\u0266\u029c"
        "\u0397\u041d\u13bb\u157c\u1e22\u1e23\u1e24\u1e25"
        "\u1e26\u1e27\u1e28\u1e29\u1e2a\u1e2b\u1e96\u210b"
        "\u210c\u210d\u2c8e\ua4e7\ua795\ua7aa\uff28\U000102cf"
        "\U0001d407\U0001d43b\U0001d46f\U0001d4d7\U0001d573\U0001d5a7\U0001d5db\U0001d60f"
        "\U0001d643\U0001d677\U0001d6ae\U0001d6e8\U0001d722\U0001d75c\U0001d796"
    ),
    "I": (
        "l\xcc\xcd\xce\xcf\xec\xed\xee"
        "\xef\u0128\u0129\u012a\u012b\u012c\u012d\u012e"
        "\u012f\u0130\u0131\u0197\u01cf\u01d0\u0208\u0209"
        "\u020a\u020b\u0268\u026a\u1d96\u1e2c\u1e2d\u1e2e"
        "\u1e2f\u1ec8\u1ec9\u1eca\u1ecb\ua7ae"
    ),
    "J": (
        "\u0134\u0135\u01f0\u0237\u0248\u0249\u025f\u0284"
        "\u029d\u037f\u0408\u13ab\u148d\u1d0a\ua4d9\ua7b2"
        "\uff2a\U0001d409\U0001d43d\U0001d471\U0001d4a5\U0001d4d9\U0001d50d\U0001d541"
        "\U0001d575\U0001d5a9\U0001d5dd\U0001d611\U0001d645\U0001d679"
    ),
    "K": (
        "\u0136\u0137\u0198\u0199\u01e8\u01e9\u039a\u041a"
        "\u13e6\u16d5\u1d0b\u1d84\u1e30\u1e31\u1e32\u1e33"
        "\u1e34\u1e35\u212a\u2c94\ua4d7\ua740\ua741\ua742"
        "\ua743\ua744\ua745\ua7a2\ua7a3\uff2b\U00010518\U0001d40a"
        "\U0001d43e\U0001d472\U0001d4a6\U0001d4da\U0001d50e\U0001d542\U0001d576\U0001d5aa"
        "\U0001d5de\U0001d612\U0001d646\U0001d67a\U0001d6b1\U0001d6eb\U0001d725\U0001d75f"
        "\U0001d799"
    ),
    "L": (
        "\u0139\u013a\u013b\u013c\u013d\u013e\u013f\u0140"
        "\u0141\u0142\u019a\u01c8\u0234\u023d\u026b\u026c"
        "\u026d\u029f\u13de\u14aa\u1d0c\u1d85\u1e36\u1e37"
        "\u1e38\u1e39\u1e3a\u1e3b\u1e3c\u1e3d\u2112\u216c"
        "\u2cd0\ua4e1\ua748\ua749\ua78e\ua7ad\uab37\uab38"
        "\uab39\U0001041b\U00010526\U000118a3\U000118b2\U00016f16\U0001d22a\U0001d40b"
        "\U0001d43f\U0001d473\U0001d4db\U0001d50f\U0001d543\U0001d577\U0001d5ab\U0001d5df"
        "\U0001d613\U0001d647\U0001d67b"
    ),
    "M": (
        "\u0271\u039c\u03fa\u041c\u13b7\u15f0\u16d6\u1d0d"
        "\u1d6f\u1d86\u1e3e\u1e3f\u1e40\u1e41\u1e42\u1e43"
        "\u2133\u216f\u2c98\ua4df\uab3a\uff2d\U000102b0\U00010311"
        "\U0001d40c\U0001d440\U0001d474\U0001d4dc\U0001d510\U0001d544\U0001d578\U0001d5ac"
        "\U0001d5e0\U0001d614\U0001d648\U0001d67c\U0001d6b3\U0001d6ed\U0001d727\U0001d761"
        "\U0001d79b"
    ),
    "N": (
        "\xd1\xf1\u0143\u0144\u0145\u0146\u0147\u0148"
        "\u019d\u019e\u01cb\u01f8\u01f9\u0220\u0235\u0272"
        "\u0273\u0274\u039d\u1d70\u1d87\u1e44\u1e45\u1e46"
        "\u1e47\u1e48\u1e49\u1e4a\u1e4b\u2115\u2c9a\ua4e0"
        "\ua790\ua791\ua7a4\ua7a5\uab3b\uff2e\U00010513\U0001d40d"
        "\U0001d441\U0001d475\U0001d4a9\U0001d4dd\U0001d511\U0001d579\U0001d5ad\U0001d5e1"
        "\U0001d615\U0001d649\U0001d67d\U0001d6b4\U0001d6ee\U0001d728\U0001d762\U0001d79c"
    ),
    "O": (
        "0\xd2\xd3\xd4\xd5\xd6\xd8\xf2"
        "\xf3\xf4\xf5\xf6\xf8\u014c\u014d\u014e"
        "\u014f\u0150\u0151\u019f\u01a0\u01a1\u01d1\u01d2"
        "\u01ea\u01eb\u01ec\u01ed\u01fe\u01ff\u020c\u020d"
        "\u020e\u020f\u022a\u022b\u022c\u022d\u022e\u022f"
        "\u0230\u0231\u039f\u041e\u0555\u07c0\u09e6\u0b20"
        "\u0b66\u12d0\u1d0f\u1e4c\u1e4d\u1e4e\u1e4f\u1e50"
        "\u1e51\u1e52\u1e53\u1ecc\u1ecd\u1ece\u1ecf\u1ed0"
        "\u1ed1\u1ed2\u1ed3\u1ed4\u1ed5\u1ed6\u1ed7\u1ed8"
        "\u1ed9\u1eda\u1edb\u1edc\u1edd\u1ede\u1edf\u1ee0"
        "\u1ee1\u1ee2\u1ee3\u2c9e\u2d54\u3007\ua4f3\ua74a"
        "\ua74b\ua74c\ua74d\uff2f\U00010292\U000102ab\U00010404\U000104c2"
        "\U00010516\U000114d0\U000118b5\U000118e0\U0001d40e\U0001d442\U0001d476\U0001d4aa"
        "\U0001d4de\U0001d512\U0001d546\U0001d57a\U0001d5ae\U0001d5e2\U0001d616\U0001d64a"
        "\U0001d67e\U0001d6b6\U0001d6f0\U0001d72a\U0001d764\U0001d79e\U0001d7ce\U0001d7d8"
        "\U0001d7e2\U0001d7ec\U0001d7f6\U0001fbf0"
    ),
    "P": (
        "\u01a4\u01a5\u03a1\u0420\u13e2\u146d\u1d18\u1d71"
        "\u1d7d\u1d88\u1e54\u1e55\u1e56\u1e57\u2119\u2ca2"
        "\ua4d1\ua750\ua751\ua752\ua753\ua754\ua755\uff30"
        "\U00010295\U0001d40f\U0001d443\U0001d477\U0001d4ab\U0001d4df\U0001d513\U0001d57b"
        "\U0001d5af\U0001d5e3\U0001d617\U0001d64b\U0001d67f\U0001d6b8\U0001d6f2\U0001d72c"
        "\U0001d766\U0001d7a0"
    ),
    "Q": (
        "\u024b\u02a0\u211a\u2d55\ua756\ua757\ua758\ua759"
        "\ua7af\U0001d410\U0001d444\U0001d478\U0001d4ac\U0001d4e0\U0001d514\U0001d57c"
        "\U0001d5b0\U0001d5e4\U0001d618\U0001d64c\U0001d680"
    ),
    "R": (
        "\u0154\u0155\u0156\u0157\u0158\u0159\u01a6\u0210"
        "\u0211\u0212\u0213\u024c\u024d\u027c\u027d\u027e"
        "\u0280\u13a1\u13d2\u1587\u1d72\u1d73\u1d89\u1e58"
        "\u1e59\u1e5a\u1e5b\u1e5c\u1e5d\u1e5e\u1e5f\u211b"
        "\u211c\u211d\ua4e3\ua7a6\ua7a7\uab46\uab49\U000104b4"
        "\U00016f35\U0001d216\U0001d411\U0001d445\U0001d479\U0001d4e1\U0001d57d\U0001d5b1"
        "\U0001d5e5\U0001d619\U0001d64d\U0001d681"
    ),
    "S": (
        "\u015a\u015b\u015c\u015d\u015e\u015f\u0160\u0161"
        "\u0218\u0219\u023f\u0282\u0405\u054f\u13d5\u13da"
        "\u1d74\u1d8a\u1e60\u1e61\u1e62\u1e63\u1e64\u1e65"
        "\u1e66\u1e67\u1e68\u1e69\ua4e2\ua731\ua7a8\ua7a9"
        "\ua7c5\ua7c9\ua7ca\uff33\U00010296\U00010420\U00016f3a\U0001d412"
        "\U0001d446\U0001d47a\U0001d4ae\U0001d4e2\U0001d516\U0001d54a\U0001d57e\U0001d5b2"
        "\U0001d5e6\U0001d61a\U0001d64e\U0001d682"
    ),
    "T": (
        "\u0162\u0163\u0164\u0165\u0166\u0167\u01ab\u01ac"
        "\u01ad\u01ae\u021a\u021b\u0236\u023e\u0288\u03a4"
        "\u0422\u13a2\u1d1b\u1d75\u1e6a\u1e6b\u1e6c\u1e6d"
        "\u1e6e\u1e6f\u1e70\u1e71\u1e97\u22a4\u27d9\u2ca6"
        "\ua4d4\uff34\U00010297\U000102b1\U00010315\U000118bc\U00016f0a\U0001d413"
        "\U0001d447\U0001d47b\U0001d4af\U0001d4e3\U0001d517\U0001d54b\U0001d57f\U0001d5b3"
        "\U0001d5e7\U0001d61b\U0001d64f\U0001d683\U0001d6bb\U0001d6f5\U0001d72f\U0001d769"
        "\U0001d7a3\U0001f768"
    ),
    "U": (
        "\xd9\xda\xdb\xdc\xf9\xfa\xfb\xfc"
        "\u0168\u0169\u016a\u016b\u016c\u016d\u016e\u016f"
        "\u0170\u0171\u0172\u0173\u01af\u01b0\u01d3\u01d4"
        "\u01d5\u01d6\u01d7\u01d8\u01d9\u01da\u01db\u01dc"
        "\u0214\u0215\u0216\u0217\u054d\u1200\u144c\u1d1c"
        "\u1d99\u1e72\u1e73\u1e74\u1e75\u1e76\u1e77\u1e78"
        "\u1e79\u1e7a\u1e7b\u1ee4\u1ee5\u1ee6\u1ee7\u1ee8"
        "\u1ee9\u1eea\u1eeb\u1eec\u1eed\u1eee\u1eef\u1ef0"
        "\u1ef1\u222a\u22c3\ua4f4\ua7b8\ua7b9\uab4e\uab52"
        "\U000104ce\U000118b8\U00016f42\U0001d414\U0001d448\U0001d47c\U0001d4b0\U0001d4e4"
        "\U0001d518\U0001d54c\U0001d580\U0001d5b4\U0001d5e8\U0001d61c\U0001d650\U0001d684"
    ),
    "V": (
        "\u01b2\u028b\u0474\u0667\u06f7\u13d9\u142f\u1d20"
        "\u1d8c\u1e7c\u1e7d\u1e7e\u1e7f\u2164\u2d38\ua4e6"
        "\ua6df\ua75e\ua75f\U0001051d\U000118a0\U00016f08\U0001d20d\U0001d415"
        "\U0001d449\U0001d47d\U0001d4b1\U0001d4e5\U0001d519\U0001d54d\U0001d581\U0001d5b5"
        "\U0001d5e9\U0001d61d\U0001d651\U0001d685"
    ),
    "W": (
        "\u0174\u0175\u051c\u13b3\u13d4\u1d21\u1e80\u1e81"
        "\u1e82\u1e83\u1e84\u1e85\u1e86\u1e87\u1e88\u1e89"
        "\u1e98\ua4ea\U000118e6\U000118ef\U0001d416\U0001d44a\U0001d47e\U0001d4b2"
        "\U0001d4e6\U0001d51a\U0001d54e\U0001d582\U0001d5b6\U0001d5ea\U0001d61e\U0001d652"
        "\U0001d686"
    ),
    "X": (
        "\u03a7\u0425\u166d\u16b7\u1d8d\u1e8a\u1e8b\u1e8c"
        "\u1e8d\u2169\u2573\u2cac\u2d5d\ua4eb\ua7b3\uab56"
        "\uab57\uab58\uab59\uff38\U00010290\U000102b4\U00010317\U00010322"
        "\U00010527\U000118ec\U0001d417\U0001d44b\U0001d47f\U0001d4b3\U0001d4e7\U0001d51b"
        "\U0001d54f\U0001d583\U0001d5b7\U0001d5eb\U0001d61f\U0001d653\U0001d687\U0001d6be"
        "\U0001d6f8\U0001d732\U0001d76c\U0001d7a6"
    ),
    "Y": (
        "\xdd\xfd\xff\u0176\u0177\u0178\u01b3\u01b4"
        "\u0232\u0233\u024e\u024f\u028f\u03a5\u03d2\u0423"
        "\u04ae\u13a9\u13bd\u1e8e\u1e8f\u1e99\u1ef2\u1ef3"
        "\u1ef4\u1ef5\u1ef6\u1ef7\u1ef8\u1ef9\u1efe\u1eff"
        "\u2ca8\ua4ec\uab5a\uff39\U000102b2\U000118a4\U00016f43\U0001d418"
        "\U0001d44c\U0001d480\U0001d4b4\U0001d4e8\U0001d51c\U0001d550\U0001d584\U0001d5b8"
        "\U0001d5ec\U0001d620\U0001d654\U0001d688\U0001d6bc\U0001d6f6\U0001d730\U0001d76a"
        "\U0001d7a4"
    ),
    "Z": (
        "\u0179\u017a\u017b\u017c\u017d\u017e\u01b5\u01b6"
        "\u0224\u0225\u0240\u0290\u0291\u0396\u13c3\u1d22"
        "\u1d76\u1d8e\u1e90\u1e91\u1e92\u1e93\u1e94\u1e95"
        "\u2124\u2128\ua4dc\ua7c6\uff3a\U000102f5\U000118a9\U000118e5"
        "\U0001d419\U0001d44d\U0001d481\U0001d4b5\U0001d4e9\U0001d585\U0001d5b9\U0001d5ed"
        "\U0001d621\U0001d655\U0001d689\U0001d6ad\U0001d6e7\U0001d721\U0001d75b\U0001d795"
    ),
    "!": ("\u01c3\u2d51\uff01"),
    "&": ("\ua778"),
    "'": (
        "`\xb4\u02b9\u02bb\u02bc\u02bd\u02be\u02c8"
        "\u02ca\u02cb\u02f4\u0374\u0384\u055a\u055d\u05d9"
        "\u05f3\u07f4\u07f5\u144a\u16cc\u1fbd\u1fbf\u1fef"
        "\u1ffd\u1ffe\u2018\u2019\u201b\u2032\u2035\ua78c"
        "\uff07\uff40\U00016f51\U00016f52"
    ),
    "(": ("\u2768\u2772\u3014\ufd3e\uff3b"),
    ")": ("\u2769\u2773\u3015\ufd3f\uff3d"),
    "*": ("\u066d\u204e\u2217\U0001031f"),
    "+": ("\u16ed\u2795\U0001029b"),
    ",": ("\xb8\u060d\u066b\u201a\ua4f9"),
    "-": ("\u02d7\u06d4\u2010\u2011\u2012\u2013\u2043\u2212\u2796\u2cba\ufe58"),
    ".": ("\u0660\u06f0\u0701\u0702\u2024\ua4f8\ua60e\U00010a50\U0001d16d"),
    "/": ("\u1735\u2041\u2044\u2215\u2571\u27cb\u29f8\u2cc6\u2f03\u3033\u30ce\u31d3\u4e3f\U0001d23a"),
    ":": ("\u02d0\u02f8\u0589\u05c3\u0703\u0704\u0903\u0a83\u16ec\u1803\u1809\u205a\u2236\ua4fd\ua789\ufe30\uff1a"),
    ";": ("\u037e"),
    "<": ("\u02c2\u1438\u16b2\u2039\u276e\U0001d236"),
    "=": ("\u1400\u2e40\u30a0\ua4ff"),
    ">": ("\u02c3\u1433\u203a\u276f\U00016f3f\U0001d237"),
    "?": ("\u0241\u0294\u097d\u13ae\ua6eb"),
    "\\": ("\u2216\u27cd\u29f5\u29f9\u2f02\u31d4\u4e36\ufe68\uff3c\U0001d20f\U0001d23b"),
    "^": ("\u02c4\u02c6"),
    "_": ("\u07fa\ufe4d\ufe4e\ufe4f"),
    "`": ("'"),
    "{": ("\u2774\U0001d114"),
    "|": ("l"),
    "}": ("\u2775"),
    "~": ("\u02dc\u1fc0\u2053\u223c"),
    " ": ("\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f"),
}
