print("cnnscope")
