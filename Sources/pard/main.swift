print("pard")
