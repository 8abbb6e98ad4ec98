using System.Diagnostics;
using Npgsql;

namespace Akka.EventDriven.Faults;

/// <summary>
/// A PostgreSQL 15 server of the test's own (initdb into a temp folder, 127.0.0.1 on a free port), so that the test
/// can stop it hard (<c>pg_ctl stop -m immediate</c>: a crash, as far as clients can tell) and start it again without
/// touching the server the rest of the suite uses. As root, the server runs as the <c>postgres</c> user, as
/// <c>./build.sh</c> runs its own. Removed on dispose.
/// </summary>
public sealed class PrivatePostgres : IAsyncDisposable
{
    private readonly string _bin;
    private readonly string _folder;

    private PrivatePostgres(string bin, string folder, int port)
    {
        _bin = bin;
        _folder = folder;
        Port = port;
    }

    /// <summary>The server's port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>A <c>postgresql://</c> URL of database <c>eventdriven</c>, as <c>DATABASE_URL</c> takes it.</summary>
    public string Url => $"postgresql://postgres@127.0.0.1:{Port}/eventdriven";

    /// <summary>An Npgsql connection string of the same database.</summary>
    public string ConnectionString => $"Host=127.0.0.1;Port={Port};Username=postgres;Database=eventdriven;Pooling=false";

    private static bool IsRoot => Environment.UserName == "root";

    /// <summary>Starts a server on 127.0.0.1 and, with <paramref name="alsoListenOn"/>, on that address too, trusting
    /// clients of <paramref name="trustSubnet"/> (a partition test's namespaces).</summary>
    public static async Task<PrivatePostgres> StartAsync(string? alsoListenOn = null, string? trustSubnet = null)
    {
        var bin = Environment.GetEnvironmentVariable("PG_BIN") is { Length: > 0 } b ? b : "/usr/lib/postgresql/15/bin";
        if (!File.Exists(Path.Combine(bin, "initdb")))
            throw new InvalidOperationException($"PostgreSQL binaries not found in {bin} (set PG_BIN): the fault tests start their own server.");
        var folder = Directory.CreateTempSubdirectory("ed-faults-pg-").FullName;
        if (IsRoot) await RunAsync("chown", ["-R", "postgres", folder]);
        var server = new PrivatePostgres(bin, folder, TestWait.FreePort()) { _listen = alsoListenOn is null ? "127.0.0.1" : $"127.0.0.1,{alsoListenOn}" };
        await server.PgAsync("initdb", "-D", server.Data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8");
        if (trustSubnet is not null)
            await File.AppendAllTextAsync(Path.Combine(server.Data, "pg_hba.conf"), $"host all all {trustSubnet} trust\n");
        await server.StartAgainAsync();
        await using (var connection = new NpgsqlConnection(server.ConnectionString.Replace("Database=eventdriven", "Database=postgres")))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand("CREATE DATABASE eventdriven", connection);
            await create.ExecuteNonQueryAsync();
        }
        return server;
    }

    private string Data => Path.Combine(_folder, "data");

    /// <summary>Starts the server (again) and waits until it accepts connections.</summary>
    public Task StartAgainAsync() => PgAsync("pg_ctl", "-D", Data, "-l", Path.Combine(_folder, "server.log"), "-w", "-t", "60",
        "-o", $"-p {Port} -h {_listen} -k {_folder} -c max_connections=200", "start");

    private string _listen = "127.0.0.1";

    /// <summary>A <c>postgresql://</c> URL of database <c>eventdriven</c> at <paramref name="host"/> (one of the
    /// addresses the server listens on).</summary>
    public string UrlAt(string host) => $"postgresql://postgres@{host}:{Port}/eventdriven";

    /// <summary>Stops the server at once: open transactions are cut off as in a crash; what was committed stays.</summary>
    public Task StopImmediatelyAsync() => PgAsync("pg_ctl", "-D", Data, "-m", "immediate", "-w", "stop");

    /// <summary>Runs <paramref name="sql"/> and returns the rows of its first column pair as (text, long).</summary>
    public async Task<List<(string, long)>> PairsAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<(string, long)>();
        while (await reader.ReadAsync()) rows.Add((reader.GetString(0), Convert.ToInt64(reader.GetValue(1))));
        return rows;
    }

    /// <summary>Runs <paramref name="sql"/>.</summary>
    public async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private Task PgAsync(string tool, params string[] arguments) => IsRoot
        ? RunAsync("runuser", ["-u", "postgres", "--", Path.Combine(_bin, tool), .. arguments])
        : RunAsync(Path.Combine(_bin, tool), arguments);

    private static async Task RunAsync(string file, IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(file) { WorkingDirectory = Path.GetTempPath(), RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in arguments) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{file} {string.Join(' ', start.ArgumentList)} exited {process.ExitCode}:\n{await output}\n{await error}");
    }

    public async ValueTask DisposeAsync()
    {
        try { await PgAsync("pg_ctl", "-D", Data, "-m", "immediate", "-w", "stop"); }
        catch (InvalidOperationException) { } // already stopped
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
