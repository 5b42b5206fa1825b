package io.l4mesh.node.packet;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The few libc calls packet mode needs, bound once through the FFM linker. Every call captures {@code errno}.
 * None is marked critical: a blocking call in a critical downcall stalls the JVM at a safepoint.
 */
final class Libc {
    static final int O_RDWR = 2;
    static final int O_NONBLOCK = 0x800;
    static final int O_CLOEXEC = 0x80000;
    static final int EAGAIN = 11;
    static final int EINTR = 4;
    static final int EIO = 5;
    static final int EINVAL = 22;
    static final int ENOPROTOOPT = 92;
    static final int ENOBUFS = 105;
    static final short POLLIN = 1;
    static final int CLONE_NEWNET = 0x40000000;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option CAPTURE = Linker.Option.captureCallState("errno");

    static final MethodHandle OPEN = bind("open", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS,
        ValueLayout.JAVA_INT, ValueLayout.JAVA_INT), Linker.Option.firstVariadicArg(2));
    static final MethodHandle IOCTL = bind("ioctl", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
        ValueLayout.JAVA_LONG, ValueLayout.ADDRESS), Linker.Option.firstVariadicArg(2));
    /** {@code ioctl} whose argument is a value, not a pointer ({@code TUNSETOFFLOAD}). */
    static final MethodHandle IOCTL_VALUE = bind("ioctl", FunctionDescriptor.of(ValueLayout.JAVA_INT,
        ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG), Linker.Option.firstVariadicArg(2));
    static final MethodHandle WRITEV = bind("writev", FunctionDescriptor.of(ValueLayout.JAVA_LONG,
        ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
    static final MethodHandle READ = bind("read", FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT,
        ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
    static final MethodHandle WRITE = bind("write", FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT,
        ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
    static final MethodHandle CLOSE = bind("close", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    /**
     * {@code poll}, without errno (its callers only ask whether the descriptor became ready): a captured call state
     * costs a slice of the state segment on each call that the JIT does not optimise away, and the packet threads
     * poll each time their queue runs empty.
     */
    static final MethodHandle POLL = LINKER.downcallHandle(LIBC.find("poll").orElseThrow(),
        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
    static final MethodHandle SETNS = bind("setns", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
        ValueLayout.JAVA_INT));
    static final MethodHandle SOCKET = bind("socket", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
        ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    static final MethodHandle SENDTO = bind("sendto", FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT,
        ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
    /** {@code int sendmmsg(int fd, struct mmsghdr *msgvec, unsigned int vlen, int flags)}. */
    static final MethodHandle SENDMMSG = bind("sendmmsg", FunctionDescriptor.of(ValueLayout.JAVA_INT,
        ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    /** {@code ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)}. */
    static final MethodHandle SENDMSG = bind("sendmsg", FunctionDescriptor.of(ValueLayout.JAVA_LONG,
        ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
    /** {@code ssize_t recvmsg(int fd, struct msghdr *msg, int flags)}. */
    static final MethodHandle RECVMSG = bind("recvmsg", FunctionDescriptor.of(ValueLayout.JAVA_LONG,
        ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
    /** {@code int recvmmsg(int fd, struct mmsghdr *msgvec, unsigned int vlen, int flags, struct timespec *timeout)}. */
    static final MethodHandle RECVMMSG = bind("recvmmsg", FunctionDescriptor.of(ValueLayout.JAVA_INT,
        ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
    static final MethodHandle GETSOCKNAME = bind("getsockname", FunctionDescriptor.of(ValueLayout.JAVA_INT,
        ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS));
    static final MethodHandle BIND = bind("bind", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
        ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
    /** x86-64 and aarch64 (LP64): struct mmsghdr is a 56-byte msghdr and a 4-byte length, padded to 64. */
    static final int MMSGHDR_SIZE = 64;
    static final int IOVEC_SIZE = 16;
    static final int SOCKADDR_IN_SIZE = 16;
    static final MethodHandle SETSOCKOPT = bind("setsockopt", FunctionDescriptor.of(ValueLayout.JAVA_INT,
        ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
    static final int AF_INET6 = 10;
    static final int SOCKADDR_IN6_SIZE = 28;
    static final int IPPROTO_UDP = 17;
    static final int IPPROTO_IPV6 = 41;
    static final int IPV6_CHECKSUM = 7;
    static final int SOL_SOCKET = 1;
    static final int SO_ATTACH_FILTER = 26;
    static final int SOCK_FPROG_SIZE = 16;
    static final int AF_INET = 2;
    static final int SOCK_RAW = 3;
    static final int IPPROTO_RAW = 255;

    static final MethodHandle STRERROR = LINKER.downcallHandle(LIBC.find("strerror").orElseThrow(),
        FunctionDescriptor.of(ValueLayout.ADDRESS.withTargetLayout(MemoryLayout.sequenceLayout(256,
            ValueLayout.JAVA_BYTE)), ValueLayout.JAVA_INT));

    private Libc() {
    }

    private static MethodHandle bind(String name, FunctionDescriptor fd, Linker.Option... extra) {
        Linker.Option[] options = new Linker.Option[extra.length + 1];
        options[0] = CAPTURE;
        System.arraycopy(extra, 0, options, 1, extra.length);
        return LINKER.downcallHandle(LIBC.find(name).orElseThrow(), fd, options);
    }

    /**
     * A classic BPF program that keeps nothing a socket receives ({@code struct sock_fprog} of one {@code ret #0}),
     * for {@code setsockopt(SOL_SOCKET, SO_ATTACH_FILTER, prog, }{@link #SOCK_FPROG_SIZE}{@code )} on sockets that
     * only send.
     */
    static MemorySegment keepNothingFilter(Arena arena) {
        MemorySegment insn = arena.allocate(8, 8);       // struct sock_filter {u16 code; u8 jt; u8 jf; u32 k}
        insn.set(ValueLayout.JAVA_SHORT, 0, (short) 0x06);
        MemorySegment prog = arena.allocate(SOCK_FPROG_SIZE, 8);   // struct sock_fprog {u16 len; sock_filter *}
        prog.set(ValueLayout.JAVA_SHORT, 0, (short) 1);
        prog.set(ValueLayout.ADDRESS, 8, insn);
        return prog;
    }

    /** A call-state segment for one thread's calls (holds errno after each call). */
    static MemorySegment callState(Arena arena) {
        return arena.allocate(CALL_STATE);
    }

    static int errno(MemorySegment state) {
        return (int) ERRNO.get(state, 0L);
    }

    static String strerror(int errno) {
        try {
            MemorySegment s = (MemorySegment) STRERROR.invokeExact(errno);
            return s.getString(0);
        } catch (Throwable t) {
            return "errno " + errno;
        }
    }
}
