print("labeler")
