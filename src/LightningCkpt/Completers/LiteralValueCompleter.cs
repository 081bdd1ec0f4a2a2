using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace LightningCkpt.Commands.Completers
{
    /// <summary>
    /// The shared frame of the completers that offer literal values read from the checkpoint the command line names
    /// (-Key, -StripPrefix): the file as TensorNameCompleter finds it, the word unquoted, the results quoted; never throws.
    /// </summary>
    internal abstract class LiteralValueCompleter : IArgumentCompleter
    {
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            try
            {
                var file = TensorNameCompleter.FileOf(fakeBoundParameters);
                if (file == null) return Array.Empty<CompletionResult>();
                return Candidates(file, TensorNameCompleter.Unquote(wordToComplete ?? ""))
                    .Select(v => new CompletionResult(TensorNameCompleter.QuoteLiteral(v), v, CompletionResultType.ParameterValue, v))
                    .ToList();
            }
            catch
            {
                return Array.Empty<CompletionResult>();
            }
        }

        /// <summary>The values of <paramref name="file"/> that complete <paramref name="word"/>, in the order to offer them.</summary>
        protected abstract IEnumerable<string> Candidates(string file, string word);
    }
}
