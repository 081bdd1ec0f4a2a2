namespace LightningCkpt
{
    /// <summary>
    /// The provider-qualified path PowerShell gives file-system items (Get-ChildItem's PSPath). Objects that name a
    /// file expose it as PSPath and their file as FullName (never "Path"): piped on, PSPath binds to -LiteralPath, so
    /// Remove-Item, Copy-Item and this module's cmdlets act on exactly that file even when its name holds [ or ].
    /// </summary>
    public static class FileSystemPSPath
    {
        /// <summary>The qualifier of the FileSystem provider, as Get-ChildItem writes it.</summary>
        public const string Qualifier = @"Microsoft.PowerShell.Core\FileSystem::";

        /// <remarks>A checkpoint read by URL keeps its (redacted) URL: it names no file-system item, and the cmdlets take URLs as paths.</remarks>
        public static string Of(string fullName) =>
            string.IsNullOrEmpty(fullName) ? "" : Remote.RemoteUrl.IsRemote(fullName) ? fullName : Qualifier + fullName;
    }
}
