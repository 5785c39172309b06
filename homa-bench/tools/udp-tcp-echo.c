/*
 * The kernel alone, without a JVM: one client and one server process echo messages of one size over loopback, one
 * message at a time, over UDP (64 KiB datagrams, sendmmsg/recvmmsg) or over TCP (TCP_NODELAY, write/recv), the
 * layout of homa-load's echo scenario and of UdpEchoFloor. Prints goodput (request and response bytes over time) and
 * the client's CPU seconds per GB. docs/benchmarks.md uses it to show what the kernel's two paths cost for the same
 * echo.
 *
 *   gcc -O2 -o /tmp/udp-tcp-echo homa-bench/tools/udp-tcp-echo.c
 *   /tmp/udp-tcp-echo udp|tcp MESSAGE_BYTES SECONDS SPIN
 *
 * SPIN 1 polls with MSG_DONTWAIT; 0 blocks in the receive call.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <unistd.h>
#include <errno.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sys/resource.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <time.h>
#include <sys/uio.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
static double cpu(){struct rusage r;getrusage(RUSAGE_SELF,&r);return r.ru_utime.tv_sec+r.ru_utime.tv_usec*1e-6+r.ru_stime.tv_sec+r.ru_stime.tv_usec*1e-6;}
enum{DG=65507,B=64};
static int tcp,spin; static long M;
static void sendmsgall(int s,char*buf){
  if(tcp){ long off=0; while(off<M){ long n=write(s,buf+off,M-off); if(n>0)off+=n; else if(errno!=EAGAIN&&errno!=EINTR){perror("write");exit(1);} } return; }
  long off=0; struct mmsghdr m[B]; struct iovec iv[B];
  while(off<M){ int k=0; long o=off; while(k<B&&o<M){ long len=M-o<DG?M-o:DG; iv[k].iov_base=buf+o; iv[k].iov_len=len; memset(&m[k],0,sizeof m[k]); m[k].msg_hdr.msg_iov=&iv[k]; m[k].msg_hdr.msg_iovlen=1; o+=len; k++; }
    int n=sendmmsg(s,m,k,0); if(n>0){ for(int i=0;i<n;i++) off+=iv[i].iov_len; } else if(errno!=EAGAIN&&errno!=EINTR){perror("sendmmsg");exit(1);} }
}
static int recvmsgall(int s,char*buf,double deadline){
  long got=0; int fl=spin?MSG_DONTWAIT:0;
  while(got<M){ if(now()>deadline) return 0;
    if(tcp){ long n=recv(s,buf+got,M-got,fl); if(n>0)got+=n; else if(n==0)return 0; continue; }
    struct mmsghdr m[B]; struct iovec iv[B]; int k=0; long o=got; while(k<B&&o<M){ long len=DG; iv[k].iov_base=buf+o; iv[k].iov_len=len; memset(&m[k],0,sizeof m[k]); m[k].msg_hdr.msg_iov=&iv[k]; m[k].msg_hdr.msg_iovlen=1; o+=DG; k++; }
    int n=recvmmsg(s,m,k,fl|MSG_WAITFORONE,NULL); if(n>0) for(int i=0;i<n;i++) got+=m[i].msg_len; }
  return 1;
}
int main(int argc,char**argv){
  tcp=!strcmp(argv[1],"tcp"); M=atol(argv[2]); double secs=atof(argv[3]); spin=atoi(argv[4]);
  int one=1,big=8<<20; int port=20000+(getpid()%20000);
  struct sockaddr_in sa={.sin_family=AF_INET,.sin_port=htons(port)}; sa.sin_addr.s_addr=htonl(0x7f000001);
  struct sockaddr_in ca=sa; ca.sin_port=htons(port+1);
  int ls=socket(AF_INET,tcp?SOCK_STREAM:SOCK_DGRAM,0); setsockopt(ls,SOL_SOCKET,SO_REUSEADDR,&one,4);
  setsockopt(ls,SOL_SOCKET,SO_RCVBUFFORCE,&big,4); setsockopt(ls,SOL_SOCKET,SO_SNDBUFFORCE,&big,4);
  if(bind(ls,(void*)&sa,sizeof sa)){perror("bind");return 1;} if(tcp)listen(ls,1);
  char*buf=aligned_alloc(4096,M+B*65536);memset(buf,3,M);
  pid_t pid=fork();
  if(pid==0){ int s=ls; if(tcp){s=accept(ls,NULL,NULL); setsockopt(s,IPPROTO_TCP,TCP_NODELAY,&one,4);} else { connect(s,(void*)&ca,sizeof ca); }
    double c0=cpu(); long n=0; while(recvmsgall(s,buf,now()+secs+5)){ sendmsgall(s,buf); n++; }
    printf("  server cpu %.3f s\n",cpu()-c0); _exit(0); }
  int s=socket(AF_INET,tcp?SOCK_STREAM:SOCK_DGRAM,0); setsockopt(s,SOL_SOCKET,SO_RCVBUFFORCE,&big,4); setsockopt(s,SOL_SOCKET,SO_SNDBUFFORCE,&big,4);
  if(!tcp){ bind(s,(void*)&ca,sizeof ca);} else setsockopt(s,IPPROTO_TCP,TCP_NODELAY,&one,4);
  if(connect(s,(void*)&sa,sizeof sa)){perror("connect");return 1;}
  double t0=now(),end=t0+secs,c0=cpu(); long n=0;
  while(now()<end){ sendmsgall(s,buf); if(!recvmsgall(s,buf,now()+1)){printf("lost\n");break;} n++; }
  double t=now()-t0; printf("%s %ld spin=%d: %.2f Gb/s goodput (req+resp), client cpu %.3f s/GB\n",argv[1],M,spin,2.0*n*M*8/t/1e9,(cpu()-c0)/(2.0*n*M/1e9));
  fflush(stdout); close(s); if(!tcp) kill(pid,9); wait(NULL); return 0;
}
