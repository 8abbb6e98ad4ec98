using System.Diagnostics;
using System.Text;

namespace Akka.EventDriven.Hosting.Tests;

/// <summary>
/// The summary of <c>./build.sh test</c> (its last line, 'Tests: N passed, N failed, N skipped', is what CI and the README
/// rely on). It runs under <c>set -euo pipefail</c>, where a pipeline whose producer is cut off by <c>head</c> dies of
/// SIGPIPE (exit 141) and ends the whole script: loaded CI run 17 passed every test and printed no summary.
/// </summary>
public sealed class BuildScriptSpec
{
    [Fact]
    public async Task The_summary_of_many_large_result_files_is_printed_every_time()
    {
        var root = RepositoryRoot();
        var results = Directory.CreateTempSubdirectory("ed-trx-").FullName;
        try
        {
            // Result files that name their test assembly thousands of times (more than a pipe holds), as big suites do.
            for (var file = 0; file < 3; file++)
            {
                var trx = new StringBuilder("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<TestRun>\n")
                    .Append("<Times creation=\"2026-12-07T10:00:00Z\" start=\"2026-12-07T10:00:00Z\" finish=\"2026-12-07T10:01:05Z\" />\n");
                for (var i = 0; i < 4000; i++)
                    trx.Append($"<UnitTest name=\"t{i}\" storage=\"/ci/tests/Akka.EventDriven.Sample{file}.Tests/bin/Release/net10.0/Akka.EventDriven.Sample{file}.Tests.dll\" />\n");
                trx.Append("<ResultSummary outcome=\"Completed\"><Counters total=\"4000\" executed=\"4000\" passed=\"4000\" failed=\"0\" error=\"0\" timeout=\"0\" aborted=\"0\" notExecuted=\"0\" /></ResultSummary>\n</TestRun>\n");
                await File.WriteAllTextAsync(Path.Combine(results, $"Sample{file}.trx"), trx.ToString());
            }

            // Just the summary's functions, as build.sh defines them, under the options it runs with.
            var script = "set -euo pipefail\n" +
                         "source <(sed -n '/^log()/p; /^attr()/,/^}/p; /^summarize_trx()/,/^}/p' \"$1\")\n" +
                         "for i in $(seq 1 20); do summarize_trx \"$2\" 0 | tail -n 1; done\n";
            var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in new[] { "-c", script, "summary", Path.Combine(root, "build.sh"), results }) start.ArgumentList.Add(arg);
            using var bash = Process.Start(start)!;
            var stdout = bash.StandardOutput.ReadToEndAsync();
            var stderr = bash.StandardError.ReadToEndAsync();
            try
            {
                await bash.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
            }
            catch (TimeoutException)
            {
                bash.Kill(entireProcessTree: true);
                throw;
            }

            Assert.True(bash.ExitCode == 0, $"the summary died with exit code {bash.ExitCode}: {await stderr}");
            var lines = (await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(20, lines.Length);
            Assert.All(lines, line => Assert.Equal("Tests: 12000 passed, 0 failed, 0 skipped", line));
        }
        finally
        {
            Directory.Delete(results, recursive: true);
        }
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Akka.EventDriven.sln"))) return dir.FullName;
        throw new InvalidOperationException("The repository root (Akka.EventDriven.sln) was not found above " + AppContext.BaseDirectory);
    }
}
