namespace LightningCkpt.Pickle
{
    /// <summary>A pathlib path (PosixPath, WindowsPath, Pure*), rebuilt from its parts as text.</summary>
    public sealed class PyPath
    {
        public PyPath(PyGlobal type, string path)
        {
            PythonType = type;
            Path = path;
        }

        public PyGlobal PythonType { get; }
        public string Path { get; }
        public override string ToString() => Path;
    }
}
