using System.Runtime.InteropServices;
using Akka.Streams;
using Akka.Streams.Stage;
using Akka.Streams.Supervision;

namespace Akka.EventDriven.Streaming;

/// <summary>
/// The window operator: one inlet of elements, results of closed windows on <c>Out0</c>, elements too late for their
/// windows on <c>Out1</c> (the late-events side output). State is bounded by the open windows (keys × windows in
/// flight); results wait in a queue only until downstream pulls, and the stage pulls upstream only when that queue
/// and the late slot are empty, so backpressure holds.
/// </summary>
internal sealed class WindowStage<T, TKey, TAcc, TResult> : GraphStage<FanOutShape<T, WindowResult<TKey, TResult>, T>>
{
    private readonly WindowSpec _spec;
    private readonly Func<T, TKey> _key;
    private readonly Aggregator<T, TAcc, TResult> _aggregator;
    private readonly WindowOptions<T> _options;
    private readonly Action<WindowResult<TKey, TResult>>? _onClosed;

    public WindowStage(WindowSpec spec, Func<T, TKey> key, Aggregator<T, TAcc, TResult> aggregator, WindowOptions<T> options,
        Action<WindowResult<TKey, TResult>>? onClosed)
    {
        _spec = spec;
        _key = key;
        _aggregator = aggregator;
        _options = options;
        _onClosed = onClosed;
        Shape = new FanOutShape<T, WindowResult<TKey, TResult>, T>("Window");
    }

    public override FanOutShape<T, WindowResult<TKey, TResult>, T> Shape { get; }

    protected override Attributes InitialAttributes { get; } = Attributes.CreateName("window");

    protected override GraphStageLogic CreateLogic(Attributes inheritedAttributes) => new Logic(this, inheritedAttributes);

    private readonly record struct WindowKey(TKey Key, long Start)
    {
        public bool Equals(WindowKey other) => Start == other.Start && EqualityComparer<TKey>.Default.Equals(Key, other.Key);
        public override int GetHashCode() => HashCode.Combine(Key, Start);
    }

    private readonly record struct KeyBox(TKey Key);

    private struct Slot
    {
        public TAcc Acc;
        public long Count;
    }

    private sealed class Session
    {
        public long Start;
        public long End;
        public TAcc Acc = default!;
        public long Count;
    }

    private sealed class Logic : TimerGraphStageLogic
    {
        private const string TickKey = "tick";
        private readonly WindowStage<T, TKey, TAcc, TResult> _stage;
        private readonly Inlet<T> _in;
        private readonly Outlet<WindowResult<TKey, TResult>> _out;
        private readonly Outlet<T> _late;
        private readonly Decider _decider;
        private readonly Func<T, TKey> _keyOf;
        private readonly Func<T, DateTimeOffset>? _eventTime;
        private readonly Func<TAcc, T, TAcc> _add;
        private readonly long _size, _slide, _lateness, _outOfOrder;
        private readonly long? _idle;
        private readonly IStreamClock _clock;

        // Tumbling and sliding windows: accumulators by (key, start); keys of the windows ending at each end.
        private readonly Dictionary<WindowKey, Slot> _windows = new();
        private readonly SortedDictionary<long, List<TKey>> _byEnd = new();
        // Session windows: each key's open sessions (disjoint, few).
        private readonly Dictionary<KeyBox, List<Session>> _sessions = new();

        private readonly Queue<WindowResult<TKey, TResult>> _ready = new();
        private long _watermark = long.MinValue;
        private long _maxEventTime = long.MinValue;
        private long _nextClose = long.MaxValue;        // earliest end of an open window; scan only when passed
        private long _lastArrival;
        // With a manual clock the stage's "now" is the last time the clock ticked it: ticks and elements arrive through
        // the stage's mailbox in the order the test sent them, so what is in which window is deterministic.
        private bool _manual;
        private long _manualNow;
        private T _pendingLate = default!;
        private bool _hasPendingLate, _finishing;
        private IDisposable? _clockSubscription;

        public Logic(WindowStage<T, TKey, TAcc, TResult> stage, Attributes attributes) : base(stage.Shape)
        {
            _stage = stage;
            _in = stage.Shape.In;
            _out = stage.Shape.Out0;
            _late = stage.Shape.Out1;
            _decider = attributes.GetAttribute<ActorAttributes.SupervisionStrategy>(null)?.Decider ?? Deciders.StoppingDecider;
            _keyOf = stage._key;
            _eventTime = stage._options.EventTime;
            _add = stage._aggregator.Add;
            _size = stage._spec.Size.Ticks;
            _slide = stage._spec.Slide.Ticks;
            _clock = stage._options.Clock;
            var eventTime = _eventTime is not null;
            _lateness = eventTime ? stage._options.AllowedLateness.Ticks : 0;
            _outOfOrder = eventTime ? stage._options.MaxOutOfOrderness.Ticks : 0;
            _idle = eventTime ? stage._options.IdleTimeout?.Ticks : null;

            SetHandler(_in, onPush: OnPush, onUpstreamFinish: OnUpstreamFinish);
            SetHandler(_out, onPull: OnPull);
            SetHandler(_late, onPull: OnLatePull, onDownstreamFinish: _ => _hasPendingLate = false);
        }

        public override void PreStart()
        {
            _manualNow = _lastArrival = _clock.UtcNow.UtcTicks;
            if (_eventTime is not null && _idle is null) return;    // the watermark moves only with elements
            var tick = GetAsyncCallback<DateTimeOffset>(now =>
            {
                if (now.UtcTicks > _manualNow) _manualNow = now.UtcTicks;
                OnClock(_manualNow);
            });
            _clockSubscription = _clock.Subscribe(tick);
            _manual = _clockSubscription is not null;
            if (!_manual) ScheduleRepeatedly(TickKey, _stage._options.TickInterval);
        }

        public override void PostStop() => _clockSubscription?.Dispose();

        protected override void OnTimer(object timerKey) => OnClock(_clock.UtcNow.UtcTicks);

        private void OnPush()
        {
            var element = Grab(_in);
            try
            {
                long time;
                if (_idle is not null) _lastArrival = Now();
                if (_eventTime is null) time = Now();
                else
                {
                    time = _eventTime(element).UtcTicks;
                    if (time > _maxEventTime)
                    {
                        _maxEventTime = time;
                        var wm = time - _outOfOrder;
                        if (wm > _watermark) _watermark = wm;
                    }
                }
                if (_eventTime is null && time > _watermark) _watermark = time;
                var accepted = _stage._spec.Kind == WindowKind.Session ? AddToSession(element, time) : AddToWindows(element, time);
                if (!accepted) Late(element);
                if (_watermark >= _nextClose) CloseUpTo(_watermark);
            }
            catch (Exception ex)
            {
                if (_decider(ex) == Directive.Stop)
                {
                    FailStage(ex);
                    return;
                }
            }
            if (_ready.Count > 0 && IsAvailable(_out)) Push(_out, _ready.Dequeue());
            TryPull();
        }

        private bool AddToWindows(T element, long time)
        {
            var key = _keyOf(element);
            var lastStart = time - Mod(time, _slide);
            var accepted = false;
            for (var start = lastStart; start > time - _size; start -= _slide)
            {
                var end = start + _size;
                if (end + _lateness <= _watermark) break;    // this and every earlier window already closed
                ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_windows, new WindowKey(key, start), out var exists);
                if (!exists)
                {
                    slot.Acc = _stage._aggregator.Seed();
                    if (!_byEnd.TryGetValue(end, out var keys)) _byEnd[end] = keys = new List<TKey>();
                    keys.Add(key);
                    var closeAt = end + _lateness;
                    if (closeAt < _nextClose) _nextClose = closeAt;
                }
                slot.Acc = _add(slot.Acc, element);
                slot.Count++;
                accepted = true;
            }
            return accepted;
        }

        private bool AddToSession(T element, long time)
        {
            var end = time + _size;
            if (end + _lateness <= _watermark) return false;
            var key = _keyOf(element);
            if (!_sessions.TryGetValue(new KeyBox(key), out var list)) _sessions[new KeyBox(key)] = list = new List<Session>(1);
            Session? merged = null;
            for (var i = list.Count - 1; i >= 0; i--)
            {
                var s = list[i];
                if (s.Start >= end || time >= s.End) continue;    // [time, time+gap) does not touch this session
                if (merged is null) merged = s;
                else
                {
                    merged.Start = Math.Min(merged.Start, s.Start);
                    merged.End = Math.Max(merged.End, s.End);
                    merged.Acc = _stage._aggregator.Merge(merged.Acc, s.Acc);
                    merged.Count += s.Count;
                    list.RemoveAt(i);
                }
            }
            if (merged is null)
            {
                merged = new Session { Start = time, End = end, Acc = _stage._aggregator.Seed() };
                list.Add(merged);
            }
            merged.Start = Math.Min(merged.Start, time);
            merged.End = Math.Max(merged.End, end);
            merged.Acc = _add(merged.Acc, element);
            merged.Count++;
            var closeAt = merged.End + _lateness;
            if (closeAt < _nextClose) _nextClose = closeAt;
            return true;
        }

        private void Late(T element)
        {
            if (IsClosed(_late)) return;
            if (IsAvailable(_late)) Push(_late, element);
            else
            {
                _pendingLate = element;
                _hasPendingLate = true;
            }
        }

        /// <summary>Closes every window whose end plus the allowed lateness the watermark has reached.</summary>
        private void CloseUpTo(long watermark)
        {
            if (_stage._spec.Kind == WindowKind.Session)
            {
                var next = long.MaxValue;
                List<KeyBox>? emptied = null;
                foreach (var (box, list) in _sessions)
                {
                    for (var i = 0; i < list.Count; i++)
                    {
                        var s = list[i];
                        if (s.End + _lateness <= watermark)
                        {
                            Emit(box.Key, s.Start, s.End, s.Acc, s.Count);
                            list.RemoveAt(i--);
                        }
                        else next = Math.Min(next, s.End + _lateness);
                    }
                    if (list.Count == 0) (emptied ??= new()).Add(box);
                }
                if (emptied is not null) foreach (var k in emptied) _sessions.Remove(k);
                _nextClose = next;
                return;
            }

            while (_byEnd.Count > 0)
            {
                var (end, keys) = First(_byEnd);
                if (end + _lateness > watermark)
                {
                    _nextClose = end + _lateness;
                    return;
                }
                _byEnd.Remove(end);
                var start = end - _size;
                foreach (var key in keys)
                {
                    if (_windows.Remove(new WindowKey(key, start), out var slot)) Emit(key, start, end, slot.Acc, slot.Count);
                }
            }
            _nextClose = long.MaxValue;
        }

        private static KeyValuePair<long, List<TKey>> First(SortedDictionary<long, List<TKey>> d)
        {
            using var e = d.GetEnumerator();
            e.MoveNext();
            return e.Current;
        }

        private void Emit(TKey key, long start, long end, TAcc acc, long count)
        {
            var result = new WindowResult<TKey, TResult>(key, new DateTimeOffset(start, TimeSpan.Zero), new DateTimeOffset(end, TimeSpan.Zero),
                _stage._aggregator.Result(acc), count);
            _stage._onClosed?.Invoke(result);
            _ready.Enqueue(result);
        }

        private long Now() => _manual ? _manualNow : _clock.UtcNow.UtcTicks;

        private void OnClock(long now)
        {
            if (_eventTime is null)
            {
                if (now > _watermark) _watermark = now;
            }
            else if (_idle is { } idle)
            {
                var idleFor = now - _lastArrival;
                if (idleFor >= idle && _maxEventTime != long.MinValue)
                {
                    var wm = _maxEventTime - _outOfOrder + idleFor;
                    if (wm > _watermark) _watermark = wm;
                }
            }
            if (_watermark >= _nextClose) CloseUpTo(_watermark);
            if (_ready.Count > 0 && IsAvailable(_out)) Push(_out, _ready.Dequeue());
            MaybeComplete();
        }

        private void OnPull()
        {
            if (_ready.Count > 0) Push(_out, _ready.Dequeue());
            if (!MaybeComplete()) TryPull();
        }

        private void OnLatePull()
        {
            if (!_hasPendingLate) return;
            var element = _pendingLate;
            _pendingLate = default!;
            _hasPendingLate = false;
            Push(_late, element);
            if (!MaybeComplete()) TryPull();
        }

        private void OnUpstreamFinish()
        {
            // End of input: every open window is complete.
            _finishing = true;
            CloseUpTo(long.MaxValue);
            if (_ready.Count > 0 && IsAvailable(_out)) Push(_out, _ready.Dequeue());
            MaybeComplete();
        }

        private bool MaybeComplete()
        {
            if (!_finishing || _ready.Count > 0 || _hasPendingLate) return false;
            CompleteStage();
            return true;
        }

        private void TryPull()
        {
            if (_ready.Count == 0 && !_hasPendingLate && IsAvailable(_out) && !HasBeenPulled(_in) && !IsClosed(_in)) Pull(_in);
        }

        private static long Mod(long value, long by)
        {
            var m = value % by;
            return m < 0 ? m + by : m;
        }
    }
}
